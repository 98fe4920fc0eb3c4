# install-rewritten.cmake: install files that name installed paths
# (/usr/local/bin/..., /usr/local/share/..., /usr/share/tallyfeed/...) with
# those paths rewritten for the prefix being installed to, which is known
# only at install time (`cmake --install BUILD --prefix DIR`).
# deploy/CMakeLists.txt sets, before running this with install(SCRIPT):
#   TF_BINDIR, TF_DATADIR  relative to the prefix (GNUInstallDirs)
#   TF_REWRITTEN           "FILE>DIR" pairs: install FILE into DIR (relative)
set(prefix "${CMAKE_INSTALL_PREFIX}")
set(root "$ENV{DESTDIR}${prefix}")
foreach(pair IN LISTS TF_REWRITTEN)
  string(REPLACE ">" ";" pair "${pair}")
  list(GET pair 0 from)
  list(GET pair 1 to_dir)
  file(READ "${from}" text)
  string(REPLACE "/usr/local/bin/" "${prefix}/${TF_BINDIR}/" text "${text}")
  string(REPLACE "/usr/local/share/" "${prefix}/${TF_DATADIR}/" text "${text}")
  string(REPLACE "/usr/share/tallyfeed/" "${prefix}/${TF_DATADIR}/tallyfeed/" text "${text}")
  get_filename_component(name "${from}" NAME)
  file(MAKE_DIRECTORY "${root}/${to_dir}")
  message(STATUS "Installing (paths for ${prefix}): ${root}/${to_dir}/${name}")
  file(WRITE "${root}/${to_dir}/${name}" "${text}")
endforeach()
