# Link rules: what a library must never carry, checked when CMake configures (a broken rule
# stops the build) and written out for the `link_rules` ctest.
#
# bsocial_link_closure(<target> <out-var>): every target and library file <target> links,
# directly or through other targets (LINK_LIBRARIES and INTERFACE_LINK_LIBRARIES, followed
# recursively; $<LINK_ONLY:x> counts as x; other generator expressions are skipped).
function(bsocial_link_closure target out_var)
  set(todo ${target})
  set(seen "")
  while(todo)
    list(POP_FRONT todo item)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    if(item STREQUAL "" OR item MATCHES "^\\$<" OR item IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${item})
    if(TARGET ${item})
      get_target_property(type ${item} TYPE)
      set(props INTERFACE_LINK_LIBRARIES)
      if(NOT type STREQUAL "INTERFACE_LIBRARY")
        list(APPEND props LINK_LIBRARIES)
      endif()
      foreach(prop IN LISTS props)
        get_target_property(deps ${item} ${prop})
        if(deps)
          list(APPEND todo ${deps})
        endif()
      endforeach()
    endif()
  endwhile()
  set(${out_var} ${seen} PARENT_SCOPE)
endfunction()

# bsocial_forbid_links(<target> <regex> <why>): fails the configuration when an entry of
# <target>'s link closure matches <regex> (case-insensitive), and writes the closure to
# <build>/link_closure/<target>.txt.
function(bsocial_forbid_links target regex why)
  bsocial_link_closure(${target} closure)
  list(JOIN closure "\n" text)
  file(WRITE ${CMAKE_BINARY_DIR}/link_closure/${target}.txt "${text}\n")
  string(TOLOWER "${regex}" regex_lower)
  foreach(item IN LISTS closure)
    string(TOLOWER "${item}" item_lower)
    if(item_lower MATCHES "${regex_lower}")
      message(FATAL_ERROR "${target} links ${item}: ${why} (cmake/link_rules.cmake)")
    endif()
  endforeach()
endfunction()
