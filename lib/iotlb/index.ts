// vhost_iotlb: the interval map every address space and device IOTLB is made of.
export * from './vhost_iotlb.js';
