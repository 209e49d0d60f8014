# Userspace ESP: received packets and key files (one harness, the first
# byte selects; see fuzz_esp.c), seeded from seeds-esp/ (a key file, and a
# packet that decrypts and passes every check). The library is built here
# from source so that it is instrumented.
strait_fuzz(fuzz_esp 20 "" ${CMAKE_CURRENT_SOURCE_DIR}/seeds-esp
  SOURCES fuzz_esp.c ${CMAKE_SOURCE_DIR}/ctrl/ipsec/keyfile.c
          ${CMAKE_SOURCE_DIR}/ctrl/ipsec/sa.c ${CMAKE_SOURCE_DIR}/ctrl/ipsec/esp.c
  LIBS PkgConfig::OPENSSL)
