// The demo's report as plain text: what an operator typed and saw, the device shape, the
// traffic, the MAC change, per-queue statistics, and a summary table.

import type { BlkDemoReport } from './blk_demo.js';
import type { DemoReport } from './demo.js';

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd()).join('\n');
}

function indent(text: string, by = '  '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

export function renderDemo(r: DemoReport): string {
  const out: string[] = [];
  const section = (title: string) => out.push('', `== ${title}`);
  out.push(`vdpa-model demo: ${r.device} on a simulated ${r.profile} host`);

  section('operator');
  for (const f of r.pci) out.push(`(plugged) virtio-net-pci at ${f.slot}: mac ${f.mac}, ${f.queuePairs} queue pairs, bound to ${f.driver}`);
  for (const c of r.commands) {
    out.push(`# ${c.line}`);
    if (c.output.trim()) out.push(indent(c.output));
  }

  section('device shape (vhost-vdpa ioctls from the VMM; IOTLB entries per ASID in the kernel)');
  for (const s of r.shapes) {
    const tlb = Object.entries(s.iotlbEntries)
      .map(([asid, n]) => `ASID ${asid}: ${n}`)
      .join(', ');
    out.push(`${s.name}: ${s.vqs} vqs, ${s.groups} groups, ${s.addressSpaces} address spaces; ${s.queuePairs} queue pair(s) in use; IOTLB ${tlb}`);
    out.push(indent(table([['vq', 'role', 'group', 'asid'], ...s.vq.map((q) => [String(q.vq), q.role, q.group === null ? '-' : String(q.group), String(q.asid)])])));
  }
  if (r.shapes.some((s) => s.vq.some((q) => q.group === null))) out.push('group -: GET_VRING_GROUP is not supported by this parent (no get_vq_group: every vq is in its one group)');

  section('guests');
  out.push(table([['vm', 'device', 'ip', 'mac', 'pairs', 'control vq'], ...r.vms.map((v) => [v.name, v.device, v.ip, v.mac, String(v.queuePairs), v.cvq])]));
  // Said where the CVQ is not shadowed: the default demo's text stays as it was.
  if (r.vms.some((v) => !v.cvq.startsWith('shadowed'))) out.push(`control vq: ${r.cvqNote}`);

  section('ping across the wire (vdpa0 <-> vdpa1)');
  out.push(`${r.ping.from} -> ${r.ping.to}: ${r.ping.sent} echo requests, ${r.ping.received} replies`);

  section('loopback traffic (vdpa2)');
  const l = r.loopback;
  out.push(`${l.vm} -> itself over every TX queue: ${l.sent} UDP packets of 64..1514 bytes sent, ${l.received} received (${l.bytes} bytes), ${l.lost} lost, ${l.duplicates} duplicated, ${l.reordered} reordered`);

  section('MAC change through the control virtqueue');
  const m = r.macChange;
  out.push(`${m.vm}: ${m.oldMac} -> ${m.newMac} (device config now ${m.deviceMac}, VMM device model ${m.vmmModelMac})`);
  out.push(`to the old MAC: ${m.toOldMac.sent} sent, ${m.toOldMac.delivered} delivered, ${m.toOldMac.droppedByFilter} dropped by the device filter`);
  out.push(`after a gratuitous ARP, to the new MAC: ${m.toNewMac.sent} sent, ${m.toNewMac.delivered} delivered, ${m.toNewMac.droppedByFilter} dropped`);

  if (r.stats.length) {
    section(r.pci.length ? "per-queue statistics (the functions' counters: vp_vdpa has no vendor statistics)" : 'per-queue statistics (vdpa dev vstats show)');
    const rows = r.stats.map((s) => [s.device, String(s.queue), Object.entries(s.counters).map(([k, v]) => `${k} ${v}`).join(', ')]);
    out.push(table([['device', 'qidx', 'counters'], ...rows]));
  }

  section('summary');
  out.push(table([['check', 'result', 'detail'], ...r.summary.map((s) => [s.check, s.ok ? 'ok' : 'FAILED', s.detail])]));
  out.push('', `done in ${r.elapsedMs} ms`);
  return `${out.join('\n')}\n`;
}

/** The block demo's report as plain text. */
export function renderBlkDemo(r: BlkDemoReport): string {
  const out: string[] = [`vdpa-model demo: ${r.device} on a simulated ${r.profile} host`, '', '== operator'];
  for (const c of r.commands) {
    out.push(`# ${c.line}`);
    if (c.output.trim()) out.push(indent(c.output));
  }
  const s = r.shape;
  out.push('', '== device shape (vhost-vdpa ioctls from the VMM)', `${s.name}: ${s.vqs} vqs, ${s.groups} groups, ${s.addressSpaces} address spaces`);
  out.push(indent(table([['vq', 'role', 'group'], ...s.vq.map((q) => [String(q.vq), q.role, String(q.group)])])));
  out.push('', '== guest disk', `vda: ${r.disk.sectors} sectors, serial '${r.disk.id}', negotiated features ${r.disk.features}`);
  out.push('', '== I/O through virtio-blk, the VMM and /dev/vhost-vdpa-0');
  out.push(table([['operation', 'result', 'detail'], ...r.io.map((i) => [i.op, i.ok ? 'ok' : 'FAILED', i.detail])]));
  out.push('', '== summary');
  out.push(table([['check', 'result', 'detail'], ...r.summary.map((c) => [c.check, c.ok ? 'ok' : 'FAILED', c.detail])]));
  out.push('', `done in ${r.elapsedMs} ms`);
  return `${out.join('\n')}\n`;
}
