# Userspace ESP throughput against the bare AEAD (see esp_bench.c and
# esp_bench.sh, which also runs `openssl speed`).
if(TARGET strait_ipsec)
  add_executable(esp_bench esp_bench.c)
  target_link_libraries(esp_bench PRIVATE strait_ipsec)
endif()
