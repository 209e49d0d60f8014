# Helper of perf/mesh_bench.sh: loads ClusterService values into etcd over
# its JSON gateway and times an etcd write to the data path (libcurl).
if(TARGET strait_mesh)
  add_executable(mesh_bench mesh_bench.c)
  target_link_libraries(mesh_bench PRIVATE strait_mesh PkgConfig::JANSSON)	# curl comes with strait_mesh
endif()
