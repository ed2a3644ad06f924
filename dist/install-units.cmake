# install-units.cmake: runs at install time (cmake --install), where
# CMAKE_INSTALL_PREFIX is the prefix actually used. Writes the systemd units
# with that prefix's paths, the sysusers.d entry, the logrotate snippet, and
# the example configurations into the configuration directory unless a file
# of that name is already there (an upgrade never overwrites a config).
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if (prefix STREQUAL "/usr" OR prefix STREQUAL "")
  set(sysconf "/etc")
else ()
  set(sysconf "${prefix}/etc")
endif ()
if (IS_ABSOLUTE "${VEILLE_BINDIR_REL}")
  set(BINDIR "${VEILLE_BINDIR_REL}")
else ()
  set(BINDIR "${prefix}/${VEILLE_BINDIR_REL}")
endif ()
set(CONFDIR "${sysconf}/veille")
set(DOCDIR "${prefix}/${VEILLE_DOCDIR_REL}")
# file(INSTALL) prepends $ENV{DESTDIR} itself; EXISTS does not.
set(dest "$ENV{DESTDIR}")

file(MAKE_DIRECTORY "${VEILLE_WORK_DIR}")
file(GLOB templates "${VEILLE_DIST_SRC}/systemd/*.service.in")
set(units)
foreach (t ${templates})
  get_filename_component(n "${t}" NAME)
  string(REGEX REPLACE "\\.in$" "" n "${n}")
  configure_file("${t}" "${VEILLE_WORK_DIR}/${n}" @ONLY)
  list(APPEND units "${VEILLE_WORK_DIR}/${n}")
endforeach ()
file(INSTALL ${units} DESTINATION "${prefix}/lib/systemd/system"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${VEILLE_DIST_SRC}/sysusers/veille.conf"
     DESTINATION "${prefix}/lib/sysusers.d")
file(INSTALL "${VEILLE_DIST_SRC}/logrotate/veille"
     DESTINATION "${sysconf}/logrotate.d")

# Configurations: installed once, never overwritten.
foreach (c broker.conf watch.conf sub.conf sources.conf)
  if (EXISTS "${dest}${CONFDIR}/${c}")
    message(STATUS "Kept existing: ${dest}${CONFDIR}/${c}")
  else ()
    file(INSTALL "${VEILLE_CONF_SRC}/${c}" DESTINATION "${CONFDIR}"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
  endif ()
endforeach ()
