# bpf.cmake - compile xdp/*.bpf.c with clang into BPF objects and generate
# libbpf skeletons with bpftool, in the spirit of libbpf-bootstrap.
# strait_bpf_object(NAME SRC) produces ${NAME}.bpf.o and ${NAME}.skel.h in
# the binary dir and an INTERFACE target strait_bpf_${NAME} to link against.
find_program(CLANG clang REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
execute_process(COMMAND uname -m OUTPUT_VARIABLE ST_ARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "x86_64" "x86" ST_BPF_ARCH "${ST_ARCH}")
string(REPLACE "aarch64" "arm64" ST_BPF_ARCH "${ST_BPF_ARCH}")

function(strait_bpf_object name src)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name})
  add_custom_command(
    OUTPUT ${out}.tmp.o
    COMMAND ${CLANG} -g -O2 -target bpf -Wall -Werror -Wno-unused-function
            -D__TARGET_ARCH_${ST_BPF_ARCH}
            -I${CMAKE_SOURCE_DIR} -I/usr/include/${ST_ARCH}-linux-gnu
            -MD -MF ${out}.d
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${out}.tmp.o
    DEPFILE ${out}.d
    DEPENDS ${src}
    COMMENT "BPF ${src}")
  add_custom_command(
    OUTPUT ${out}.bpf.o
    COMMAND ${BPFTOOL} gen object ${out}.bpf.o ${out}.tmp.o
    DEPENDS ${out}.tmp.o)
  add_custom_command(
    OUTPUT ${out}.skel.h
    COMMAND ${BPFTOOL} gen skeleton ${out}.bpf.o name ${name} > ${out}.skel.h
    DEPENDS ${out}.bpf.o)
  add_custom_target(bpf_${name} ALL DEPENDS ${out}.skel.h)
  add_library(strait_bpf_${name} INTERFACE)
  add_dependencies(strait_bpf_${name} bpf_${name})
  target_include_directories(strait_bpf_${name} INTERFACE ${CMAKE_CURRENT_BINARY_DIR})
  target_link_libraries(strait_bpf_${name} INTERFACE PkgConfig::LIBBPF)
endfunction()
