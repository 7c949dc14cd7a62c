// The netlink socket of a process on a simulated host: requests go to the host's generic
// netlink, with the process's credentials and port id, extended ACKs on.

import type { Host, Process } from '../../host/index.js';
import type { GenlTransport } from './mnl.js';

export function hostGenlTransport(host: Host, proc: Process): GenlTransport {
  return (request) => host.genl.rcv(request, { portid: proc.pid, cred: proc.cred, extAck: true, capAck: true });
}
