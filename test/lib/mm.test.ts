import { describe, expect, it } from 'vitest';
import {
  AddressSpace,
  HPAGE_SIZE,
  MemFile,
  PAGE_SIZE,
  PhysMem,
  TASK_SIZE,
  copyFromUser,
  copyToUser,
  getUser,
  newSpan,
  pinUserPages,
  putUser,
  unpinUserPages,
  userView,
} from '../../lib/mm/index.js';
import {
  EBADF,
  EEXIST,
  EFAULT,
  EINVAL,
  ENOMEM,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../uapi/index.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function mm(opts: ConstructorParameters<typeof PhysMem>[0] = {}): AddressSpace {
  return new AddressSpace(new PhysMem(opts));
}

describe('mmap', () => {
  it('places mappings top-down, page aligned and zero-filled', () => {
    const m = mm();
    const a = m.mmap(0, 100, RW, ANON);
    const b = m.mmap(0, PAGE_SIZE, RW, ANON);
    expect(a % PAGE_SIZE).toBe(0);
    expect(b).toBe(a - PAGE_SIZE);
    expect(getUser(m, a + 99, 1)).toBe(0);
    // The length is rounded up to a page.
    expect(getUser(m, a + PAGE_SIZE - 1, 1)).toBe(0);
    expect(getUser(m, a + PAGE_SIZE, 1)).toBeUndefined();
  });

  it('rejects a zero length, an unaligned offset and a bad mapping type with EINVAL', () => {
    const m = mm();
    expect(m.mmap(0, 0, RW, ANON)).toBe(-EINVAL);
    const f = MemFile.create(m.phys, 'f', PAGE_SIZE * 2);
    expect(m.mmap(0, PAGE_SIZE, RW, MAP_SHARED, f, 100)).toBe(-EINVAL);
    expect(m.mmap(0, PAGE_SIZE, RW, MAP_ANONYMOUS)).toBe(-EINVAL);
    expect(m.mmap(0, PAGE_SIZE, RW, MAP_SHARED)).toBe(-EBADF);
  });

  it('MAP_FIXED needs an aligned address inside TASK_SIZE and replaces what was there', () => {
    const m = mm();
    const a = m.mmap(0x10000000, 3 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    expect(a).toBe(0x10000000);
    expect(putUser(m, a + PAGE_SIZE, 4, 0xdeadbeef)).toBe(0);
    expect(m.mmap(a + 1, PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(-EINVAL);
    expect(m.mmap(TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(-ENOMEM);
    expect(m.mmap(a + PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)).toBe(a + PAGE_SIZE);
    expect(getUser(m, a + PAGE_SIZE, 4)).toBe(0);
    expect(m.mappings().map((v) => [v.start - a, v.end - a, v.prot])).toEqual([
      [0, PAGE_SIZE, RW],
      [PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ],
      [2 * PAGE_SIZE, 3 * PAGE_SIZE, RW],
    ]);
  });

  it('MAP_FIXED_NOREPLACE fails with EEXIST over an existing mapping', () => {
    const m = mm();
    const a = m.mmap(0x20000000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    expect(m.mmap(a, PAGE_SIZE, RW, ANON | MAP_FIXED_NOREPLACE)).toBe(-EEXIST);
    expect(m.mmap(a + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED_NOREPLACE)).toBe(a + PAGE_SIZE);
  });

  it('a free hint is honoured; an occupied one is not', () => {
    const m = mm();
    expect(m.mmap(0x30000000, PAGE_SIZE, RW, ANON)).toBe(0x30000000);
    expect(m.mmap(0x30000000, PAGE_SIZE, RW, ANON)).not.toBe(0x30000000);
  });
});

describe('munmap and mprotect', () => {
  it('munmap of a middle page splits the VMA and keeps both ends', () => {
    const m = mm();
    const a = m.mmap(0, 3 * PAGE_SIZE, RW, ANON);
    putUser(m, a, 1, 1);
    putUser(m, a + 2 * PAGE_SIZE, 1, 3);
    expect(m.munmap(a + PAGE_SIZE, PAGE_SIZE)).toBe(0);
    expect(getUser(m, a, 1)).toBe(1);
    expect(getUser(m, a + PAGE_SIZE, 1)).toBeUndefined();
    expect(getUser(m, a + 2 * PAGE_SIZE, 1)).toBe(3);
    expect(m.mappings().length).toBe(2);
  });

  it('munmap refuses an unaligned address and a zero length', () => {
    const m = mm();
    const a = m.mmap(0, PAGE_SIZE, RW, ANON);
    expect(m.munmap(a + 1, PAGE_SIZE)).toBe(-EINVAL);
    expect(m.munmap(a, 0)).toBe(-EINVAL);
    expect(m.munmap(a, 1)).toBe(0);
    expect(m.mappings()).toEqual([]);
  });

  it('mprotect makes pages read-only or inaccessible; unmapped parts give ENOMEM', () => {
    const m = mm();
    const a = m.mmap(0, 2 * PAGE_SIZE, RW, ANON);
    expect(m.mprotect(a, PAGE_SIZE, PROT_READ)).toBe(0);
    expect(putUser(m, a, 1, 7)).toBe(-EFAULT);
    expect(getUser(m, a, 1)).toBe(0);
    expect(m.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_NONE)).toBe(0);
    expect(getUser(m, a + PAGE_SIZE, 1)).toBeUndefined();
    expect(m.mprotect(a, 3 * PAGE_SIZE, RW)).toBe(-ENOMEM);
  });
});

describe('uaccess', () => {
  it('copy_from_user / copy_to_user stop at the first fault and return the bytes not copied', () => {
    const m = mm();
    const a = m.mmap(0x40000000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    const src = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    // The last 8 bytes would land past the mapping.
    expect(copyToUser(m, a + PAGE_SIZE - 8, src)).toBe(8);
    const dst = new Uint8Array(16);
    expect(copyFromUser(m, dst, a + PAGE_SIZE - 8)).toBe(8);
    expect([...dst.subarray(0, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(copyFromUser(m, dst, 0x1000)).toBe(16);
  });

  it('copies across adjacent VMAs with different objects', () => {
    const m = mm();
    const a = m.mmap(0x50000000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    m.mmap(a + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED);
    const src = new Uint8Array(PAGE_SIZE + 10).fill(0xab);
    expect(copyToUser(m, a + 5, src)).toBe(0);
    const back = new Uint8Array(PAGE_SIZE + 10);
    expect(copyFromUser(m, back, a + 5)).toBe(0);
    expect(back.every((b) => b === 0xab)).toBe(true);
    expect(userView(m, a + 5, PAGE_SIZE + 10, false)).toBeUndefined();
    expect(userView(m, a + 5, 10, true)?.length).toBe(10);
  });

  it('get_user/put_user are little-endian, and put_user straddling a fault writes nothing', () => {
    const m = mm();
    const a = m.mmap(0x60000000, PAGE_SIZE, RW, ANON | MAP_FIXED);
    expect(putUser(m, a, 8, 0x0102030405060708n)).toBe(0);
    expect(getUser(m, a, 1)).toBe(8);
    expect(getUser(m, a, 8)).toBe(0x0102030405060708n);
    expect(putUser(m, a + PAGE_SIZE - 2, 4, 0xffffffff)).toBe(-EFAULT);
    expect(getUser(m, a + PAGE_SIZE - 2, 2)).toBe(0);
  });
});

describe('shared and private file mappings', () => {
  it('two address spaces mapping one memfd see each other\'s writes', () => {
    const phys = new PhysMem();
    const f = MemFile.create(phys, 'guest-ram', 4 * PAGE_SIZE);
    const p1 = new AddressSpace(phys);
    const p2 = new AddressSpace(phys);
    const a = p1.mmap(0, 4 * PAGE_SIZE, RW, MAP_SHARED, f);
    const b = p2.mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, f, 2 * PAGE_SIZE);
    expect(putUser(p1, a + 2 * PAGE_SIZE + 4, 4, 0x11223344)).toBe(0);
    expect(getUser(p2, b + 4, 4)).toBe(0x11223344);
    expect(p1.findVma(a)?.file).toBe(f);
    expect(p1.findVma(a)?.obj.shared).toBe(true);
  });

  it('a private mapping of a file does not write the file', () => {
    const phys = new PhysMem();
    const f = MemFile.create(phys, 'f', PAGE_SIZE);
    f.obj.bytes[0] = 5;
    const m = new AddressSpace(phys);
    const a = m.mmap(0, PAGE_SIZE, RW, MAP_PRIVATE, f);
    expect(getUser(m, a, 1)).toBe(5);
    putUser(m, a, 1, 9);
    expect(f.obj.bytes[0]).toBe(5);
    expect(m.findVma(a)?.obj.shared).toBe(false);
  });

  it('accesses past the end of the file fault', () => {
    const phys = new PhysMem();
    const f = MemFile.create(phys, 'small', PAGE_SIZE);
    const m = new AddressSpace(phys);
    const a = m.mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, f);
    expect(getUser(m, a + PAGE_SIZE - 1, 1)).toBe(0);
    expect(getUser(m, a + PAGE_SIZE, 1)).toBeUndefined();
  });
});

describe('physical placement', () => {
  it('MAP_POPULATE gives the pages frames in one contiguous run by default', () => {
    const m = mm();
    const a = m.mmap(0, 8 * PAGE_SIZE, RW, ANON | MAP_POPULATE);
    const obj = m.findVma(a)?.obj;
    if (!obj) throw new Error('no vma');
    expect(m.phys.runsOf(obj).map((r) => [r.page, r.count])).toEqual([[0, 8]]);
  });

  it('a placement policy splits pages into the runs it asks for, never adjacent', () => {
    const m = mm({ placement: () => [3, 1, 4] });
    const a = m.mmap(0, 8 * PAGE_SIZE, RW, ANON | MAP_POPULATE);
    const obj = m.findVma(a)?.obj;
    if (!obj) throw new Error('no vma');
    const runs = m.phys.runsOf(obj);
    expect(runs.map((r) => [r.page, r.count])).toEqual([
      [0, 3],
      [3, 1],
      [4, 4],
    ]);
    for (let i = 1; i < runs.length; i++) {
      const prev = runs[i - 1];
      expect(prev && prev.pfn + prev.count).not.toBe(runs[i]?.pfn);
    }
  });

  it('a physical address resolves to the same bytes as the user address, within its run', () => {
    const m = mm({ placement: () => [1, 1] });
    const a = m.mmap(0, 2 * PAGE_SIZE, RW, ANON | MAP_POPULATE);
    putUser(m, a + PAGE_SIZE + 8, 4, 0xcafef00d);
    const pfn = m.findVma(a)?.obj.pfn[1] ?? -1;
    const s = newSpan();
    expect(m.phys.span(pfn * PAGE_SIZE + 8, 100_000, false, s)).toBe(true);
    expect(new DataView(s.buf.buffer, s.off, 4).getUint32(0, true)).toBe(0xcafef00d);
    expect(s.len).toBe(PAGE_SIZE - 8);
    expect(m.phys.span(0x10, 4, false, s)).toBe(false);
  });
});

describe('hugetlb', () => {
  it('rounds to 2 MiB, takes aligned contiguous frames, and needs an aligned MAP_FIXED', () => {
    const m = mm({ hugepages: 4 });
    const a = m.mmap(0, 100, RW, ANON | MAP_HUGETLB);
    expect(a % HPAGE_SIZE).toBe(0);
    const v = m.findVma(a);
    expect(v && v.end - v.start).toBe(HPAGE_SIZE);
    const runs = v ? m.phys.runsOf(v.obj) : [];
    expect(runs.length).toBe(1);
    expect((runs[0]?.pfn ?? 1) % 512).toBe(0);
    expect(m.mmap(a - HPAGE_SIZE + PAGE_SIZE, HPAGE_SIZE, RW, ANON | MAP_HUGETLB | MAP_FIXED)).toBe(-EINVAL);
  });

  it('an empty pool fails the mmap with ENOMEM; with MAP_NORESERVE the pin fails instead', () => {
    const m = mm({ hugepages: 1 });
    expect(m.mmap(0, 2 * HPAGE_SIZE, RW, ANON | MAP_HUGETLB)).toBe(-ENOMEM);
    expect(m.phys.hugepagesFree).toBe(1);
    const a = m.mmap(0, 2 * HPAGE_SIZE, RW, ANON | MAP_HUGETLB | MAP_NORESERVE);
    expect(a).toBeGreaterThan(0);
    const pfns = new Int32Array(1024);
    expect(pinUserPages(m, a, 512, true, pfns)).toBe(512);
    expect(pinUserPages(m, a + HPAGE_SIZE, 1, true, pfns)).toBe(-EFAULT);
  });

  it('munmap of part of a huge page is EINVAL; of a whole one returns it to the pool', () => {
    const m = mm({ hugepages: 2 });
    const a = m.mmap(0, 2 * HPAGE_SIZE, RW, ANON | MAP_HUGETLB);
    expect(m.phys.hugepagesFree).toBe(0);
    expect(m.munmap(a, PAGE_SIZE)).toBe(-EINVAL);
    expect(m.munmap(a, 2 * HPAGE_SIZE)).toBe(0);
    expect(m.phys.hugepagesFree).toBe(2);
  });
});

describe('pin_user_pages', () => {
  it('a write pin of a read-only page, or of an unmapped one, is EFAULT', () => {
    const m = mm();
    const a = m.mmap(0, 2 * PAGE_SIZE, PROT_READ, ANON);
    const pfns = new Int32Array(2);
    expect(pinUserPages(m, a, 2, true, pfns)).toBe(-EFAULT);
    expect(pinUserPages(m, a, 2, false, pfns)).toBe(2);
    expect(pinUserPages(m, 0x1000, 1, false, pfns)).toBe(-EFAULT);
  });

  it('pins as many pages as it can before a hole', () => {
    const m = mm();
    const a = m.mmap(0x70000000, 2 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    const pfns = new Int32Array(4);
    expect(pinUserPages(m, a, 4, false, pfns)).toBe(2);
  });

  it('pinned frames outlive munmap and return when unpinned', () => {
    const m = mm();
    const a = m.mmap(0, 2 * PAGE_SIZE, RW, ANON);
    const obj = m.findVma(a)?.obj;
    const pfns = new Int32Array(2);
    expect(pinUserPages(m, a, 2, true, pfns)).toBe(2);
    expect(pfns[1]).toBe((pfns[0] ?? 0) + 1);
    expect(m.munmap(a, 2 * PAGE_SIZE)).toBe(0);
    expect(obj && m.phys.runsOf(obj).length).toBe(1);
    unpinUserPages(m.phys, pfns);
    expect(obj && m.phys.runsOf(obj).length).toBe(0);
    expect(obj?.released).toBe(true);
  });
});

describe('RLIMIT_MEMLOCK for long-term pins', () => {
  it('refuses with ENOMEM when pinned_vm would pass the limit (8 MiB by default)', async () => {
    const { memlockCheck, MLOCK_LIMIT } = await import('../../lib/mm/index.js');
    const m = mm();
    expect(m.rlimitMemlock).toBe(MLOCK_LIMIT);
    expect(memlockCheck(m, 2048)).toBe(0);
    expect(memlockCheck(m, 2049)).toBe(-ENOMEM);
    m.pinnedVm = 2000;
    expect(memlockCheck(m, 48)).toBe(0);
    expect(memlockCheck(m, 49)).toBe(-ENOMEM);
    m.rlimitMemlock = Infinity;
    expect(memlockCheck(m, 1e9)).toBe(0);
  });
});
