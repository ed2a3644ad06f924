# install-units.cmake: runs at install time (cmake --install), where
# CMAKE_INSTALL_PREFIX is the prefix actually used. Writes the systemd units
# with that prefix's paths, the sysusers.d and tmpfiles.d entries, the
# logrotate snippet, and the example configurations (0640) into the
# configuration directory unless a file of that name is already there (an
# upgrade never overwrites a config). As root without DESTDIR it then runs
# systemd-sysusers and systemd-tmpfiles --create on the installed entries.
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
# tmpfiles.d: owners and modes of the configuration, state, log and runtime
# directories (the paths of this prefix's configuration directory).
configure_file("${VEILLE_DIST_SRC}/tmpfiles/veille.conf.in"
               "${VEILLE_WORK_DIR}/tmpfiles/veille.conf" @ONLY)
file(INSTALL "${VEILLE_WORK_DIR}/tmpfiles/veille.conf"
     DESTINATION "${prefix}/lib/tmpfiles.d"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${VEILLE_DIST_SRC}/logrotate/veille"
     DESTINATION "${sysconf}/logrotate.d")

# Configurations: installed once, never overwritten. 0640: root and the
# group veille (set below or by tmpfiles.d) read them, others do not.
foreach (c broker.conf watch.conf sub.conf sources.conf)
  if (EXISTS "${dest}${CONFDIR}/${c}")
    message(STATUS "Kept existing: ${dest}${CONFDIR}/${c}")
  else ()
    file(INSTALL "${VEILLE_CONF_SRC}/${c}" DESTINATION "${CONFDIR}"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
  endif ()
endforeach ()

# Installed as root on this very system (no DESTDIR): create the user and
# group veille (sysusers.d) and give the directories and configurations
# their owners and modes (tmpfiles.d), so that the services start as
# installed. With DESTDIR (packaging), the package's postinst does it, or
# the next boot does.
execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
set(sysusers_file "${prefix}/lib/sysusers.d/veille.conf")
set(tmpfiles_file "${prefix}/lib/tmpfiles.d/veille.conf")
if (dest STREQUAL "" AND uid STREQUAL "0")
  find_program(VEILLE_SYSUSERS systemd-sysusers)
  find_program(VEILLE_TMPFILES systemd-tmpfiles)
  if (VEILLE_SYSUSERS AND VEILLE_TMPFILES)
    execute_process(COMMAND "${VEILLE_SYSUSERS}" "${sysusers_file}" RESULT_VARIABLE rc1)
    execute_process(COMMAND "${VEILLE_TMPFILES}" --create "${tmpfiles_file}" RESULT_VARIABLE rc2)
    if (rc1 EQUAL 0 AND rc2 EQUAL 0)
      message(STATUS "User veille and the service directories are in place (sysusers.d, tmpfiles.d)")
    else ()
      message(WARNING "systemd-sysusers ${sysusers_file} (${rc1}) or systemd-tmpfiles --create "
                      "${tmpfiles_file} (${rc2}) failed: the services may not start")
    endif ()
  else ()
    message(WARNING "systemd-sysusers/systemd-tmpfiles not found: create the user veille and "
                    "apply ${tmpfiles_file} by hand before starting the services")
  endif ()
else ()
  message(STATUS "Before starting the services on the target: systemd-sysusers ${sysusers_file}; "
                 "systemd-tmpfiles --create ${tmpfiles_file}")
endif ()
