# IPsec end to end: scapy's ESP as a peer node in the lab.
if(STRAIT_BPF)
  strait_e2e(ipsec_e2e 300)
endif()
