// QEMU's IOVA allocation for shadow virtqueues: the IOVA tree and the three-tree VhostIOVATree.
export * from './iova_tree.js';
export * from './vhost_iova_tree.js';
