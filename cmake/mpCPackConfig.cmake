# Read by cpack for each generator (CPACK_PROJECT_CONFIG_FILE): a .deb of a
# tree configured for another prefix would install files that point at that
# prefix (mp.pc, the Python client's directory), so refuse it.
if(CPACK_GENERATOR STREQUAL "DEB" AND
   NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR
    "mp: a .deb installs under /usr; this tree is configured for "
    "${CPACK_PACKAGING_INSTALL_PREFIX}. Reconfigure with "
    "-DCMAKE_INSTALL_PREFIX=/usr (scripts/ci_checks.sh package does).")
endif()
