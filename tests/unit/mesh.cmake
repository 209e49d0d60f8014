# Clustermesh (ctrl/mesh): the decoder and wire formats, then the client
# and state machine against real etcd servers the test starts itself on
# loopback (one of them with mutual TLS; certificates made with openssl at
# test time). The etcd test runs its cases one at a time (--jobs 1: they
# pick ports and start servers) inside a fresh TMPDIR removed on exit.
if(TARGET strait_mesh)
  add_executable(test_mesh_decode test_mesh_decode.c)
  target_link_libraries(test_mesh_decode PRIVATE strait_mesh PkgConfig::CRITERION)
  add_test(NAME unit_mesh_decode COMMAND test_mesh_decode)

  add_executable(test_mesh_etcd test_mesh_etcd.c)
  target_link_libraries(test_mesh_etcd PRIVATE strait_mesh PkgConfig::CRITERION)
  add_test(NAME unit_mesh_etcd
    COMMAND sh -c "d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && TMPDIR=\"$d\" $<TARGET_FILE:test_mesh_etcd> --jobs 1")
  set_tests_properties(unit_mesh_decode unit_mesh_etcd PROPERTIES LABELS unit)
  set_tests_properties(unit_mesh_etcd PROPERTIES TIMEOUT 300)
endif()

# The clustermesh keys of the config file (ctrl/config/config_mesh.c).
add_executable(test_config_mesh test_config_mesh.c)
target_link_libraries(test_config_mesh PRIVATE strait_ctrl PkgConfig::CRITERION)
add_test(NAME unit_config_mesh COMMAND test_config_mesh)
set_tests_properties(unit_config_mesh PROPERTIES LABELS unit)
