# Packaging: the pkg-config files and `cpack -G DEB` (included by the top
# CMakeLists.txt after the install rules).

# ---- pkg-config (lib/pkgconfig/mp.pc, mp-server.pc) -------------------------
# Names as Debian 12's -dev packages ship their .pc files. The public headers
# include absl's flat_hash_map (mp/object.h), so its libraries are always
# needed; gRPC, protobuf and libcrypto are used inside mp's libraries only:
# a shared mp carries them as its own NEEDED entries (Requires.private, for
# --static), a static mp needs them on the consumer's link line (Requires).
set(_mp_pc_public "absl_flat_hash_map absl_hash absl_strings")
set(_mp_pc_inner "grpc++ protobuf libcrypto absl_synchronization absl_str_format absl_status absl_random_random")
if(BUILD_SHARED_LIBS)
  set(MP_PC_REQUIRES "${_mp_pc_public}")
  set(MP_PC_REQUIRES_PRIVATE "Requires.private: ${_mp_pc_inner}\n")
else()
  set(MP_PC_REQUIRES "${_mp_pc_public} ${_mp_pc_inner}")
  set(MP_PC_REQUIRES_PRIVATE "")
endif()
set(MP_PC_DL "")
if(CMAKE_DL_LIBS)
  set(MP_PC_DL "-l${CMAKE_DL_LIBS}")
endif()
foreach(pc mp mp-server)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in
                 ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

# ---- cpack -G DEB -------------------------------------------------------------
# One package, "mp": what `cmake --install` installs (headers, libraries,
# mp-manager, the CMake config, the .pc files, share/mp/proto and the Python
# client mp_client). A .deb installs under /usr, and the install rules bake
# the prefix in (the .pc files, the Python client's dist-packages directory,
# Manager's fallback path to mp-manager): build it from a tree configured
# with -DCMAKE_INSTALL_PREFIX=/usr (scripts/ci_checks.sh package does).
set(CPACK_PACKAGE_NAME mp)
set(CPACK_PACKAGE_VENDOR "The mp Authors")
set(CPACK_PACKAGE_CONTACT "The mp Authors <mp@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Python's multiprocessing in C++: manager server, proxies, Process, Pool")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# Runtime libraries (libgrpc++1.51, libprotobuf32, libabsl20220623, libssl3,
# libc6, libstdc++6 ...): computed by dpkg-shlibdeps from the ELF files, with
# Debian's shlibs data, offline. Our own libraries resolve through their
# $ORIGIN RUNPATH; GENERATE_SHLIBS lets packages built on mp do the same.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# Building against mp: the headers' and the CMake config's dependencies
# (find_dependency(gRPC) needs grpc_cpp_plugin, in protobuf-compiler-grpc).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libgrpc++-dev, libprotobuf-dev, libabsl-dev, libssl-dev, protobuf-compiler-grpc, pkg-config | pkgconf")
# The Python client's runtime.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, python3-grpcio, python3-protobuf")
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/mpCPackConfig.cmake)
include(CPack)
