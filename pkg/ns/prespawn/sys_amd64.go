package prespawn

// memfd_create(2), which package syscall lacks on amd64.
const sysMemfdCreate = 319
