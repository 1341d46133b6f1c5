// Package proc runs one of trustplane's binaries as a process for tests:
// building it, free ports, readiness over /readyz, logs, exit codes and
// metrics. sentryproc and injectorproc add what is particular to each
// binary.
package proc
