# Installs the C++ package: public headers, the library and MLForgeConfig.cmake, so that other
# projects can do find_package(MLForge CONFIG) and link mlforge::mlforge. Development files go to
# the "dev" component; wheels install only the "python" component.
include(CMakePackageConfigHelpers)
set(MLFORGE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/MLForge")

install(TARGETS mlforge EXPORT MLForgeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY cpp/include/mlforge DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h")
install(FILES "${PROJECT_BINARY_DIR}/generated/mlforge/version.h"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mlforge COMPONENT dev)
install(EXPORT MLForgeTargets NAMESPACE mlforge:: DESTINATION ${MLFORGE_CMAKE_DIR} COMPONENT dev)

configure_package_config_file(cmake/MLForgeConfig.cmake.in
  "${PROJECT_BINARY_DIR}/MLForgeConfig.cmake" INSTALL_DESTINATION ${MLFORGE_CMAKE_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/MLForgeConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/MLForgeConfig.cmake" "${PROJECT_BINARY_DIR}/MLForgeConfigVersion.cmake"
  DESTINATION ${MLFORGE_CMAKE_DIR} COMPONENT dev)
