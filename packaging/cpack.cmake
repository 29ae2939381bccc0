# CPack DEB: one package per install component (packaging/CMakeLists.txt).
# tools/package.sh runs `cpack` in the build directory.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME migclock)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "migclock")
# A placeholder until the project has a maintainer address (lintian flags localhost).
set(CPACK_PACKAGE_CONTACT "migclock maintainers <migclock-maintainers@example.org>")
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/pkg)
# Packages install under /usr. With DESTDIR staging, install(CODE) sees
# CMAKE_INSTALL_PREFIX=/usr (the units' ExecStart), not the staging path.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent controller guest)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/migclock")
# Library dependencies come from dpkg-shlibdeps (libvirt0, libssl3,
# libsqlite3-0, libsystemd0, libstdc++6 ...): exact for what was linked.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Maintainer scripts executable, control files 0644, whatever the umask.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Stripped binaries: the debug info stays in the build tree (a -dbgsym
# package is not built).
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME migclock-agent)
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "migclock host agent, libvirt hook and CLI\nKeeps KVM guests' clocks continuous across live migration, suspend/resume\nand restore: captures clock state on the source, restores it on the\ndestination, repairs the guest wall clock through the guest agent.")
# The scripts' deb-systemd-helper comes from init-system-helpers, which is
# essential in Debian 12 (no Depends). libvirt runs the hook; the daemon is
# useless without a local libvirt.
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "libvirt-daemon-system")

set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME migclock-controller)
set(CPACK_COMPONENT_CONTROLLER_DESCRIPTION
    "migclock cluster controller and migclockctl\nTracks hosts, inter-host clock offsets and each live migration's phases in\na SQLite journal; serves the agents and operators over HTTPS.")
# sqlite3: journal backups; openssl: the example dev-certificate script.
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_SUGGESTS "sqlite3, openssl")

set(CPACK_DEBIAN_GUEST_PACKAGE_NAME migclock-guest)
set(CPACK_COMPONENT_GUEST_DESCRIPTION
    "migclock guest companion (inside Linux guests)\nAnswers the host's time queries and applies relative clock steps\natomically on its own virtio-serial port (org.migclock.clock.0), so the\nhost's migclock agent repairs the guest clock after a migration or pause\nto tens of microseconds.")
set(CPACK_DEBIAN_GUEST_PACKAGE_SECTION admin)

# conffiles: every file under /etc (dpkg keeps local edits on upgrade and
# removes them on purge only). CPack does not derive this list itself.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/deb/migclock-agent/conffiles "/etc/migclock/agent.conf\n/etc/migclock/hook.conf\n")
foreach(comp agent controller guest)
  string(TOUPPER ${comp} COMP)
  set(extra)
  foreach(script postinst prerm postrm)
    list(APPEND extra ${MIGCLOCK_DEB_DIR}/migclock-${comp}/${script})
  endforeach()
  if(EXISTS ${CMAKE_CURRENT_BINARY_DIR}/deb/migclock-${comp}/conffiles)
    list(APPEND extra ${CMAKE_CURRENT_BINARY_DIR}/deb/migclock-${comp}/conffiles)
  endif()
  set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA ${extra})
endforeach()

include(CPack)
