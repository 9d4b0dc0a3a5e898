// Which media files the language server reads synchronously (server/src/render/localfs.ts): the
// mount table as Linux writes it, the deepest mount above a path, and the pause after a slow read.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  fileSystemAt,
  LOCAL_FILE_SYSTEMS,
  parseMountInfo,
  PAUSE_MS,
  SLOW_READ_MS,
  SyncReads,
} from '../../server/src/render/localfs';

// Lines as the kernel writes them (proc(5)), optional fields and escapes included.
const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
  '23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw',
  '40 22 0:35 / /home rw,relatime shared:20 - btrfs /dev/sda2 rw,space_cache=v2',
  '41 40 0:36 / /home/ana/My\\040Share rw,relatime shared:21 master:3 - cifs //nas/share rw,vers=3.0',
  '42 40 0:37 / /home/ana/remote rw,nosuid,nodev,relatime - fuse.sshfs ana@host:/ rw,user_id=0',
  '43 22 0:38 / /mnt/usb rw,relatime - vfat /dev/sdb1 rw,fmask=0022',
  '44 22 0:39 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw',
  '45 22 0:40 / /mnt/c rw,noatime - 9p drvfs rw,dirsync',
  'not a mount line',
  '',
].join('\n');

describe('parseMountInfo / fileSystemAt', () => {
  const mounts = parseMountInfo(MOUNTINFO);

  test('every mount line, its point unescaped; other lines skipped', () => {
    assert.equal(mounts.length, 8);
    assert.deepEqual(mounts[3], { mountPoint: '/home/ana/My Share', fsType: 'cifs' });
    assert.deepEqual(mounts[4], { mountPoint: '/home/ana/remote', fsType: 'fuse.sshfs' });
  });

  test('the deepest mount above a path decides, by whole path segments', () => {
    assert.equal(fileSystemAt(mounts, '/home/ana/film/frames/a.png'), 'btrfs');
    assert.equal(fileSystemAt(mounts, '/home/ana/My Share/a.png'), 'cifs');
    assert.equal(fileSystemAt(mounts, '/home/ana/remote/a.png'), 'fuse.sshfs');
    // `/home/ana/remote2` is not under `/home/ana/remote`.
    assert.equal(fileSystemAt(mounts, '/home/ana/remote2/a.png'), 'btrfs');
    assert.equal(fileSystemAt(mounts, '/tmp/x/a.jpg'), 'tmpfs');
    assert.equal(fileSystemAt(mounts, '/tmp'), 'tmpfs');
    assert.equal(fileSystemAt(mounts, '/srv/a.jpg'), 'ext4');
    assert.equal(fileSystemAt([], '/srv/a.jpg'), undefined);
  });

  test('a later mount on the same point hides the earlier one', () => {
    const over = parseMountInfo(`${MOUNTINFO}\n50 44 0:41 / /tmp rw - nfs4 server:/tmp rw\n`);
    assert.equal(fileSystemAt(over, '/tmp/a.jpg'), 'nfs4');
  });

  test('local: disks and memory; not network, FUSE, removable or Windows drives', () => {
    for (const t of ['ext4', 'btrfs', 'xfs', 'tmpfs', 'overlay'])
      assert.ok(LOCAL_FILE_SYSTEMS.has(t), t);
    for (const t of ['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', 'fuseblk', '9p', 'vfat', 'exfat'])
      assert.ok(!LOCAL_FILE_SYSTEMS.has(t), t);
  });

  test("this machine's own mount table reads", { skip: process.platform !== 'linux' }, () => {
    const own = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    assert.ok(own.some((m) => m.mountPoint === '/'));
    assert.ok(fileSystemAt(own, process.cwd()) !== undefined);
  });
});

describe('SyncReads', () => {
  const clock = () => {
    const c = { t: 1_000_000, now: () => c.t };
    return c;
  };

  test('local files yes; a share, a USB stick, or no mount table no', () => {
    const c = clock();
    const reads = new SyncReads(() => MOUNTINFO, c.now);
    assert.equal(reads.allows('/home/ana/film/a.png'), true);
    assert.equal(reads.allows('/tmp/a.png'), true);
    assert.equal(reads.allows('/home/ana/My Share/a.png'), false);
    assert.equal(reads.allows('/home/ana/remote/a.png'), false);
    assert.equal(reads.allows('/mnt/usb/a.png'), false);
    assert.equal(reads.allows('/mnt/c/a.png'), false);
    assert.equal(new SyncReads(() => undefined, c.now).allows('/tmp/a.png'), false);
  });

  test('a slow read pauses synchronous reads for PAUSE_MS; a fast one does not', () => {
    const c = clock();
    const reads = new SyncReads(() => MOUNTINFO, c.now);
    reads.took(SLOW_READ_MS / 2);
    assert.equal(reads.allows('/tmp/a.png'), true);
    reads.took(SLOW_READ_MS + 1);
    assert.equal(reads.allows('/tmp/a.png'), false);
    c.t += PAUSE_MS - 1;
    assert.equal(reads.allows('/tmp/a.png'), false);
    c.t += 2;
    assert.equal(reads.allows('/tmp/a.png'), true);
  });

  test('the mount table is read again after a while (a share mounted later)', () => {
    const c = clock();
    let table = MOUNTINFO;
    let readsOfTable = 0;
    const reads = new SyncReads(() => {
      readsOfTable++;
      return table;
    }, c.now);
    assert.equal(reads.allows('/srv/a.png'), true);
    assert.equal(reads.allows('/srv/b.png'), true);
    assert.equal(readsOfTable, 1, 'read once for many files');
    table += '60 22 0:50 / /srv rw - nfs4 server:/srv rw\n';
    c.t += 60_000;
    assert.equal(reads.allows('/srv/a.png'), false);
    assert.equal(readsOfTable, 2);
  });
});
