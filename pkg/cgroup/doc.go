// Package cgroup gives each container its own control group and limits its
// CPU time, memory and number of tasks.
//
// Vocabulary:
//   - root: where the cgroup filesystems are mounted, /sys/fs/cgroup unless
//     WithRoot says otherwise.
//   - mode: V1, one hierarchy per controller (root/cpu, root/memory, ...),
//     or V2, the single unified hierarchy mounted at root itself. A "hybrid"
//     machine, with v1 controllers plus a cgroup2 at root/unified that holds
//     no useful controller, is V1: the limits live in the v1 hierarchies.
//   - controller: a kernel subsystem that accounts and limits one resource
//     (cpu, cpuacct, memory, pids, freezer).
//   - cgroup: the directory (v2) or the set of directories, one per
//     controller (v1), that hold one container's processes:
//     root/layerctl/ID on v2, root/CONTROLLER/layerctl/ID on v1.
//
// Limits become writes to interface files, described as data (knob) and
// performed by one function, so that the files and values for each mode
// are table-tested without root. The kernel's names and formats are those
// of Documentation/admin-guide/cgroup-v1/ and cgroup-v2.rst.
package cgroup
