# flywheel-launch: the pure parts (options, environment, line prefixing) as unit tests, and
# the binary driving real processes (sh -c ranks) as dist tests. No torch.
fw_add_test(test_launch_unit
  SOURCES launch/test_line_prefixer.cpp launch/test_launch_options.cpp
  LIBS fw_launch fw_core
  LABELS unit)

fw_add_test(test_launch_processes
  SOURCES launch/test_launch_processes.cpp launch/launch_run.cpp
  LIBS fw_core
  LABELS dist
  TIMEOUT 60)
add_dependencies(test_launch_processes flywheel-launch)
