// The VFS pieces a syscall reaches: files and their operations, descriptor tables, tasks,
// character devices under /dev, and eventfd files.
export * from './chrdev.js';
export * from './eventfd_file.js';
export * from './fdtable.js';
export * from './memfd.js';
export * from './file.js';
export * from './task.js';
