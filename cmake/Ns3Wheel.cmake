# Ns3Wheel.cmake: use the ns-3 that the PyPI `ns3` wheel ships, from C++.
#
# Why this module exists: the wheel's own CMake package (lib64/cmake/ns3) is
# unusable as shipped. Its imported targets name paths of the machine that
# built the wheel (/usr/include/glib-2.0, /lib64/libsqlite3.so, ...) and a
# PROJECT_SOURCE_PATH=/gcl-builds definition, so find_package(ns3) fails at
# generate time. Instead we take the headers and the libns3.<ver>-<module>.so
# files straight from the wheel and build our own imported targets.
#
# Inputs:  GAIDT_PYTHON  the Python of the project's venv (asked where ns3 lives)
# Outputs: NS3_WHEEL_DIR, NS3_VERSION, NS3_HAVE_NR, and one imported target
#          ns3wheel::<module> per requested module.
#
# Usage:   ns3_wheel_modules(core network internet lte ...)
#
# The outputs are cache entries and the targets are global, so a project that adds GAIDT with
# add_subdirectory() can call ns3_wheel_modules() and ns3_wheel_link_executable() itself.

if(NOT GAIDT_PYTHON)
  # the venv of the GAIDT checkout this file belongs to (cmake/..), wherever the build starts
  get_filename_component(GAIDT_PYTHON "${CMAKE_CURRENT_LIST_DIR}/../.venv/bin/python" ABSOLUTE)
endif()

execute_process(
  COMMAND "${GAIDT_PYTHON}" -c
    "import importlib.util as u; s = u.find_spec('ns3'); print(list(s.submodule_search_locations)[0])"
  OUTPUT_VARIABLE NS3_WHEEL_DIR
  OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE _ns3_rc)
if(NOT _ns3_rc EQUAL 0 OR NOT EXISTS "${NS3_WHEEL_DIR}/include/ns3/core-module.h")
  message(FATAL_ERROR
    "ns-3 wheel not found through ${GAIDT_PYTHON}. Run `make setup` "
    "(it installs ns3==3.44.post0 into .venv) or pass -DGAIDT_PYTHON=/path/to/python.")
endif()

set(NS3_LIB_DIR "${NS3_WHEEL_DIR}/lib64")
file(GLOB _ns3_core "${NS3_LIB_DIR}/libns3*-core.so")
list(LENGTH _ns3_core _n)
if(NOT _n EQUAL 1)
  message(FATAL_ERROR "expected one libns3*-core.so in ${NS3_LIB_DIR}, found: ${_ns3_core}")
endif()
get_filename_component(_core_name "${_ns3_core}" NAME)
string(REGEX REPLACE "^libns([0-9.]+)-core\\.so$" "\\1" NS3_VERSION "${_core_name}")
message(STATUS "ns-3 ${NS3_VERSION} from the wheel at ${NS3_WHEEL_DIR}")

# 5G-LENA ships as the contrib module `nr`; no registry's wheel has it, but a
# user's own ns-3 build might. Detect it so that radio = "nr" can be enabled.
if(EXISTS "${NS3_LIB_DIR}/libns${NS3_VERSION}-nr.so" AND EXISTS "${NS3_WHEEL_DIR}/include/ns3/nr-module.h")
  set(NS3_HAVE_NR ON)
else()
  set(NS3_HAVE_NR OFF)
endif()
message(STATUS "5G-LENA nr module: ${NS3_HAVE_NR}")
foreach(_var NS3_WHEEL_DIR NS3_LIB_DIR NS3_VERSION NS3_HAVE_NR)
  set(${_var} "${${_var}}" CACHE INTERNAL "found by cmake/Ns3Wheel.cmake")
endforeach()

function(ns3_wheel_modules)
  foreach(_mod IN LISTS ARGN)
    if(TARGET ns3wheel::${_mod})
      continue()
    endif()
    set(_lib "${NS3_LIB_DIR}/libns${NS3_VERSION}-${_mod}.so")
    if(NOT EXISTS "${_lib}")
      message(FATAL_ERROR "ns-3 module '${_mod}' is not in the wheel (${_lib} missing)")
    endif()
    add_library(ns3wheel::${_mod} SHARED IMPORTED GLOBAL)
    set_target_properties(ns3wheel::${_mod} PROPERTIES
      IMPORTED_LOCATION "${_lib}"
      INTERFACE_INCLUDE_DIRECTORIES "${NS3_WHEEL_DIR}/include"
      # Same flags the wheel was built with (minus its build-machine paths):
      # the headers change layout with NS3_LOG_ENABLE / NS3_ASSERT_ENABLE.
      INTERFACE_COMPILE_DEFINITIONS "NS3_LOG_ENABLE;NS3_ASSERT_ENABLE;NS3_BUILD_PROFILE_RELEASE")
  endforeach()
endfunction()

# Linking any executable against the wheel's libraries:
#  - RPATH into the wheel, so binaries run without LD_LIBRARY_PATH;
#  - --allow-shlib-undefined: libns3-config-store needs GTK symbols that the
#    wheel does not ship (we never call the GTK config store).
function(ns3_wheel_link_executable target)
  set_target_properties(${target} PROPERTIES
    BUILD_RPATH "${NS3_LIB_DIR}"
    INSTALL_RPATH "${NS3_LIB_DIR}")
  target_link_options(${target} PRIVATE
    "LINKER:--allow-shlib-undefined" "LINKER:-rpath-link,${NS3_LIB_DIR}")
endfunction()
