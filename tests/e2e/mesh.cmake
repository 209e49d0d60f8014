# Clustermesh end to end: three real etcd servers (one with mutual TLS) in
# the gateway's namespace, straitd following them, lab traffic checked.
if(STRAIT_BPF AND TARGET strait_mesh)
  strait_e2e(mesh_e2e 300)
endif()
