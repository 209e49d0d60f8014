# Clustermesh: service values, watch streams, range answers and keys from
# etcd (ctrl/mesh/decode.c and etcd_wire.c built here, instrumented),
# seeded with seeds-mesh/ (first byte: which parser, see the harness).
if(TARGET PkgConfig::JANSSON)
  strait_fuzz(fuzz_mesh_decode 20 "" ${CMAKE_CURRENT_SOURCE_DIR}/seeds-mesh
    SOURCES fuzz_mesh_decode.c ${CMAKE_SOURCE_DIR}/ctrl/mesh/decode.c
            ${CMAKE_SOURCE_DIR}/ctrl/mesh/etcd_wire.c
    LIBS PkgConfig::JANSSON)
endif()
