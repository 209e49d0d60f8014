# Userspace ESP (ctrl/ipsec): known answers, round trips, drops, ESN, key
# files and rotation; and interop with scapy's independent ESP through
# esp_tool (hex files, no network).
if(TARGET strait_ipsec)
  add_executable(test_esp test_esp.c test_esp_keys.c)
  target_link_libraries(test_esp PRIVATE strait_ipsec PkgConfig::CRITERION)
  add_test(NAME unit_esp COMMAND test_esp)
  set_tests_properties(unit_esp PROPERTIES LABELS unit)

  add_executable(esp_tool esp_tool.c)
  target_link_libraries(esp_tool PRIVATE strait_ipsec)

  # scapy may live only in the system python (Debian's python3-scapy).
  set(ST_SCAPY_PY "")
  foreach(py /usr/bin/python3 python3)
    if(NOT ST_SCAPY_PY)
      execute_process(COMMAND ${py} -c "import scapy.layers.ipsec"
                      RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
      if(rc EQUAL 0)
        set(ST_SCAPY_PY ${py})
      endif()
    endif()
  endforeach()
  if(ST_SCAPY_PY)
    add_test(NAME unit_esp_interop
      COMMAND ${ST_SCAPY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/esp_interop.py
              $<TARGET_FILE:esp_tool> ${CMAKE_CURRENT_BINARY_DIR}/esp_interop)
    set_tests_properties(unit_esp_interop PROPERTIES LABELS unit)
  else()
    message(STATUS "python3 with scapy not found: unit_esp_interop not registered")
  endif()
endif()

# The top-level "ipsec" config group (ctrl/config/config_ipsec.c).
add_executable(test_config_ipsec test_config_ipsec.c)
target_link_libraries(test_config_ipsec PRIVATE strait_ctrl PkgConfig::CRITERION)
add_test(NAME unit_config_ipsec COMMAND test_config_ipsec)
set_tests_properties(unit_config_ipsec PROPERTIES LABELS unit)
