#!/usr/bin/env python3
"""Independent reader of lode's index format 14, written from FORMAT.md only.

usage: format_reader.py INDEX [--lode PATH] [--root DIR] [--sample N]
                            [--phrases N] [--zstd] [--seed S]

Decodes every file of every segment, checks every CRC, header, footer and
structure FORMAT.md describes, re-derives the writer's documented choices
(PFor widths, Rice parameters, impact lists, common words, pair terms), and,
with --lode, compares decoded postings with `lode search`.  Exit status 1 if
anything disagrees.

It was written from FORMAT.md alone, without the C sources (session 10), so
that the specification is checked as a contract: a change to the bytes
lode writes changes FORMAT.md, its version, and this reader together.
tests/format_check.sh runs it in make test.
"""
import os, sys, zlib, struct, random, subprocess, argparse, collections, math

VERSION = 14
NO_DF1 = False
problems = []      # (category, message)
notes = collections.Counter()


def bad(cat, msg):
    problems.append((cat, msg))
    if len([p for p in problems if p[0] == cat]) <= 20:
        print(f"  !! [{cat}] {msg}", file=sys.stderr)


def need(cond, cat, msg):
    if not cond:
        bad(cat, msg)
    return cond


class Corrupt(Exception):
    pass


# ---------------------------------------------------------------- primitives
def u32(b, o): return struct.unpack_from('<I', b, o)[0]
def u64(b, o): return struct.unpack_from('<Q', b, o)[0]


def vbyte(b, o, end=None):
    end = len(b) if end is None else end
    v = 0
    shift = 0
    for i in range(10):
        if o + i >= end:
            raise Corrupt(f"VByte runs past input at {o}")
        c = b[o + i]
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            if v >> 64:
                raise Corrupt(f"VByte past 64 bits at {o}")
            return v, o + i + 1
    raise Corrupt(f"VByte longer than 10 bytes at {o}")


def bits_needed(x):
    return x.bit_length()


def packed(b, o, n, w, what='Packed'):
    """Packed(n, w) at offset o -> (values, new offset); checks zero padding."""
    if w > 32:
        raise Corrupt(f"{what}: width {w} > 32")
    nb = (n * w + 7) // 8
    if o + nb > len(b):
        raise Corrupt(f"{what} past end")
    x = int.from_bytes(b[o:o + nb], 'little')
    m = (1 << w) - 1
    vals = [(x >> (i * w)) & m for i in range(n)]
    need(x >> (n * w) == 0, 'pad', f"{what} at {o}: nonzero padding bits")
    return vals, o + nb


def pfor(b, o, n, H, what='PFor'):
    w = H & 0x7f
    if w > 32:
        raise Corrupt(f"{what}: w {w} > 32")
    vals, o = packed(b, o, n, w, what)
    exc = None
    if H & 0x80:
        cnt, hw = b[o], b[o + 1]
        o += 2
        idx = list(b[o:o + cnt])
        o += cnt
        need(1 <= cnt <= n, 'pfor', f"{what}: Count {cnt} not in 1..{n}")
        need(1 <= hw <= 32 - w, 'pfor', f"{what}: HighWidth {hw} w {w}")
        need(all(idx[i] < idx[i + 1] for i in range(cnt - 1)) and (not idx or idx[-1] < n),
             'pfor', f"{what}: indices {idx}")
        hi, o = packed(b, o, cnt, hw, what + ' high')
        for j, i in enumerate(idx):
            vals[i] |= hi[j] << w
        exc = (cnt, hw, idx)
        notes['PFor blocks with exceptions'] += 1
    return vals, o, w, exc


REV = [format(i, '08b')[::-1] for i in range(256)]


class BitStream:
    def __init__(self, data):
        self.s = ''.join(REV[c] for c in data)

    def field(self, pos, w):
        if w == 0:
            return 0
        if pos + w > len(self.s):
            raise Corrupt("bit field past end")
        return int(self.s[pos:pos + w][::-1], 2)

    def unary(self, pos):
        j = self.s.find('1', pos)
        if j < 0:
            raise Corrupt("unary past end")
        return j - pos, j + 1


def rice_decode(data, V, K, start_bit):
    """V Rice values of parameter K: V low fields then V unary parts."""
    bs = BitStream(data)
    lows = [bs.field(start_bit + j * K, K) for j in range(V)]
    pos = start_bit + V * K
    vals = []
    for j in range(V):
        q, pos = bs.unary(pos)
        vals.append((q << K) | lows[j])
    nbytes = (pos + 7) // 8
    if nbytes > len(data):
        raise Corrupt("rice past end")
    need(bs.s[pos:nbytes * 8].count('1') == 0, 'pad', "nonzero bits after Rice codes")
    return vals, nbytes


def rice_bits(vals, K):
    return len(vals) * K + sum((v >> K) + 1 for v in vals)


def rice_choose(vals):
    """The writer's K per FORMAT.md (positions section)."""
    V = len(vals)
    m = sum(vals) // V
    if m < 4:
        k0 = 0
    else:
        k0 = min(max(m.bit_length() - 1 - 1, 0), 29)
    best = None
    for K in (k0, k0 + 1, k0 + 2):
        c = rice_bits(vals, K)
        if best is None or c < best[0]:
            best = (c, K)
    return best[1], best[0]


def small8_value(c):
    if c < 32:
        return c
    return (16 + (c - 32) % 16) << ((c - 32) // 16 + 1)


SMALL8 = [small8_value(c) for c in range(256)]


def small8_floor(v):
    if v >= 507904:
        return 255
    lo, hi = 0, 255
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if SMALL8[mid] <= v:
            lo = mid
        else:
            hi = mid - 1
    return lo


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def check_header_crc(b, magic, name):
    if len(b) < 20:
        raise Corrupt(f"{name}: short file")
    need(b[:8] == magic, 'header', f"{name}: magic {b[:8]!r} != {magic!r}")
    need(u32(b, 8) == VERSION, 'header', f"{name}: version {u32(b, 8)}")
    need(u32(b, 12) == 0, 'header', f"{name}: reserved {u32(b, 12)}")
    crc = zlib.crc32(b[:-4]) & 0xffffffff
    need(crc == u32(b, len(b) - 4), 'crc', f"{name}: CRC {crc:08x} != stored {u32(b, len(b) - 4):08x}")
    notes['crc ok'] += crc == u32(b, len(b) - 4)


# ---------------------------------------------------------------- MANIFEST
def read_manifest(idx):
    b = read_file(os.path.join(idx, 'MANIFEST'))
    check_header_crc(b, b'LODE\0MAN', 'MANIFEST')
    nseg, sl = u32(b, 16), u32(b, 20)
    stem = b[24:24 + sl]
    need(sl <= 64 and b'\0' not in stem, 'manifest', f"stemmer {stem!r}")
    need(len(b) == 16 + 8 + sl + 16 * nseg + 4, 'manifest', f"size {len(b)}")
    segs = []
    o = 24 + sl
    for i in range(nseg):
        gen, docs, res = struct.unpack_from('<QII', b, o)
        o += 16
        need(res == 0, 'manifest', 'segment reserved != 0')
        segs.append((gen, docs))
    return stem.decode(), segs


# ---------------------------------------------------------------- docs.tab
def read_docs(path, ndocs_manifest, textz):
    b = read_file(path)
    check_header_crc(b, b'LODE\0DOC', 'docs.tab')
    size = len(b)
    D, total, C, idxoff = struct.unpack_from('<QQQQ', b, size - 36)
    need(D == ndocs_manifest, 'docs', f"Documents {D} != manifest {ndocs_manifest}")
    BC = (D + 63) // 64
    need(16 + 4 * D + 8 * (C + 1) <= idxoff == size - 36 - 8 * BC, 'docs',
         f"footer/size: D {D} C {C} idxoff {idxoff} size {size}")
    tokens = list(struct.unpack_from(f'<{D}I', b, 16))
    need(sum(tokens) == total, 'docs', f"TotalTokens {total} != sum {sum(tokens)}")
    co = 16 + 4 * D
    chunks = list(struct.unpack_from(f'<{C + 1}Q', b, co))
    chunks_end = co + 8 * (C + 1)
    need(chunks[0] == 16, 'docs', f"ChunkOffset_0 {chunks[0]}")
    need(all(chunks[i] < chunks[i + 1] for i in range(C)), 'docs', "chunk offsets not increasing")
    need(chunks[-1] == len(textz) - 4, 'docs', f"last ChunkOffset {chunks[-1]} != text.z CRC offset {len(textz) - 4}")
    need(C <= D, 'docs', 'ChunkCount > Documents')
    boffs = list(struct.unpack_from(f'<{BC}Q', b, idxoff))
    need(not boffs or boffs[0] == chunks_end, 'docs', f"first block {boffs[:1]} != end of Chunks {chunks_end}")
    docs = []
    chunk = 0
    start = 0
    prevlen = 0
    for bi in range(BC):
        o = boffs[bi]
        end = boffs[bi + 1] if bi + 1 < BC else idxoff
        need(chunks_end <= o < end <= idxoff, 'docs', f"block {bi} extent {o}..{end}")
        fc, o = vbyte(b, o, end)
        fs, o = vbyte(b, o, end)
        k = min(64, D - 64 * bi)
        P = b''
        mt = 0
        for e in range(k):
            d = 64 * bi + e
            head, o = vbyte(b, o, end)
            tail, o = vbyte(b, o, end)
            ml, o = vbyte(b, o, end)
            mid = b[o:o + ml]
            o += ml
            bl, o = vbyte(b, o, end)
            mtd, o = vbyte(b, o, end)
            drop = head >> 1
            L = len(P)
            need(tail <= drop <= L, 'docs', f"doc {d}: Tail {tail} Drop {drop} L {L}")
            path = P[:L - drop] + mid + (P[L - tail:] if tail else b'')
            # writer: longest common prefix, then longest common tail
            if e > 0:
                cp = 0
                while cp < min(L, len(path)) and P[cp] == path[cp]:
                    cp += 1
                ct = 0
                while ct < min(L, len(path)) - cp and P[L - 1 - ct] == path[len(path) - 1 - ct]:
                    ct += 1
                need(drop == L - cp and tail == ct, 'writer', f"doc {d}: path coding drop {drop} tail {tail}, expected {L - cp} {ct}")
            t = (mtd >> 1) ^ -(mtd & 1)
            mt = (mt + t + (1 << 63)) % (1 << 64) - (1 << 63)
            if e == 0:
                need(head == 0 and tail == 0, 'docs', f"doc {d}: first entry Head {head} Tail {tail}")
                if d == 0:
                    need(fc == 0 and fs == 0, 'docs', "document 0 not at chunk 0 offset 0")
                if C:
                    # continuity across blocks
                    if d > 0:
                        exp = (chunk, start + prevlen)
                        # either continues, or a new chunk at 0
                        need((fc, fs) == exp or (fc, fs) == (chunk + 1, 0), 'docs',
                             f"block {bi}: FirstChunk/Start {fc},{fs} after {exp}")
                    chunk, start = fc, fs
                else:
                    need(fc == 0 and fs == 0, 'docs', 'no-text block with FirstChunk/Start')
            else:
                if head & 1:
                    chunk, start = chunk + 1, 0
                else:
                    start += prevlen
            if not C:
                need(not head & 1, 'docs', 'no-text doc with Head bit 0')
            need(C == 0 or chunk < C, 'docs', f"doc {d}: chunk {chunk} >= {C}")
            docs.append(dict(path=path, tokens=tokens[d], length=bl, mtime=mt, chunk=chunk, start=start))
            prevlen = bl
            P = path
        need(o == end, 'docs', f"block {bi} ends at {o}, next at {end}")
    return dict(D=D, total=total, C=C, chunks=chunks, docs=docs, tokens=tokens)


# ---------------------------------------------------------------- text.z
def zstd_frame(b, o, end):
    """Walk one zstd frame; -> (content size or None, window, has_checksum, end)."""
    need(u32(b, o) == 0xFD2FB528, 'text', f"frame at {o}: magic {u32(b, o):08x}")
    fhd = b[o + 4]
    p = o + 5
    fcs_flag, single, cks, dictf = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    need(fhd & 0x18 == 0, 'text', f"frame at {o}: reserved bits in FHD")
    window = None
    if not single:
        wd = b[p]
        p += 1
        wl = 10 + (wd >> 3)
        window = (1 << wl) + ((1 << wl) >> 3) * (wd & 7)
    p += [0, 1, 2, 4][dictf]
    need(dictf == 0, 'text', 'frame with a dictionary id')
    fsz = [1 if single else 0, 2, 4, 8][fcs_flag]
    fcs = int.from_bytes(b[p:p + fsz], 'little') if fsz else None
    if fsz == 2:
        fcs += 256
    p += fsz
    if single:
        window = fcs
    raw = 0
    while True:
        h = int.from_bytes(b[p:p + 3], 'little')
        p += 3
        last, typ, bsz = h & 1, (h >> 1) & 3, h >> 3
        need(typ != 3, 'text', 'reserved block type')
        p += 1 if typ == 1 else bsz
        if last:
            break
        if p > end:
            break
    if cks:
        p += 4
    return fcs, window, cks, p


def check_text(path, dt, root, use_zstd):
    b = read_file(path)
    check_header_crc(b, b'LODE\0TXT', 'text.z')
    C = dt['C']
    if C == 0:
        need(len(b) == 20, 'text', f"no-text text.z size {len(b)}")
        return
    per = collections.defaultdict(list)
    for i, d in enumerate(dt['docs']):
        per[d['chunk']].append(i)
    for c in range(C):
        o, e = dt['chunks'][c], dt['chunks'][c + 1]
        fcs, window, cks, fend = zstd_frame(b, o, e)
        ds = per[c]
        need(ds, 'text', f"chunk {c} holds no document")
        tot = sum(dt['docs'][i]['length'] for i in ds)
        need(fend == e, 'text', f"chunk {c}: frame ends at {fend}, chunk at {e}")
        need(fcs == tot, 'text', f"chunk {c}: content size {fcs} != sum ByteLength {tot}")
        need(cks, 'text', f"chunk {c}: no content checksum")
        need(window is not None and window <= 1 << 19, 'text', f"chunk {c}: window {window}")
        # offsets: consecutive from 0
        st = 0
        for i in ds:
            need(dt['docs'][i]['start'] == st, 'docs', f"doc {i}: start {dt['docs'][i]['start']} != {st}")
            st += dt['docs'][i]['length']
        # chunking rule: append while within 16 KiB; longer doc alone
        if len(ds) > 1:
            need(tot <= 16384, 'writer', f"chunk {c}: {len(ds)} docs, {tot} bytes > 16 KiB")
        if c + 1 < C:
            nxt = per[c + 1][0]
            need(tot + dt['docs'][nxt]['length'] > 16384, 'writer',
                 f"chunk {c}: next doc would have fit ({tot}+{dt['docs'][nxt]['length']})")
        if use_zstd:
            r = subprocess.run(['zstd', '-d', '-c', '-q'], input=b[o:e], capture_output=True)
            need(r.returncode == 0, 'text', f"chunk {c}: zstd -d failed {r.stderr[:100]!r}")
            out = r.stdout
            need(len(out) == tot, 'text', f"chunk {c}: decompressed {len(out)} != {tot}")
            for i in ds:
                d = dt['docs'][i]
                fp = os.path.join(root, d['path'].decode('utf-8', 'surrogateescape'))
                try:
                    fb = read_file(fp)
                except OSError:
                    continue
                need(out[d['start']:d['start'] + d['length']] == fb, 'text', f"doc {i}: stored text != file")
                notes['stored text == file'] += 1


# ---------------------------------------------------------------- terms.dic
def read_dict(path):
    b = read_file(path)
    check_header_crc(b, b'LODE\0DIC', 'terms.dic')
    size = len(b)
    TC, BC, IO, CO = struct.unpack_from('<QQQQ', b, size - 36)
    need(BC == (TC + 31) // 32, 'dict', f"BlockCount {BC} TermCount {TC}")
    need(IO + 16 * BC == CO, 'dict', f"IndexOffset {IO} + 16*{BC} != CommonOffset {CO}")
    boffs = list(struct.unpack_from(f'<{BC}Q', b, IO))
    keys = list(struct.unpack_from(f'<{BC}Q', b, IO + 8 * BC))
    need(not boffs or boffs[0] == 16, 'dict', f"first block at {boffs[:1]}")
    # common words
    o = CO
    cc = b[o]
    o += 1
    common = []
    for i in range(cc):
        L = b[o]
        common.append(b[o + 1:o + 1 + L])
        o += 1 + L
    need(o == size - 36, 'dict', f"CommonWords end {o} != footer {size - 36}")
    need(cc <= 128 and all(1 <= len(w) <= 32 for w in common), 'dict', 'common words count/length')
    need(all(common[i] < common[i + 1] for i in range(cc - 1)), 'dict', 'common words not increasing')
    terms = []
    for bi in range(BC):
        o = boffs[bi]
        end = boffs[bi + 1] if bi + 1 < BC else IO
        pst, pos = struct.unpack_from('<QQ', b, o)
        o += 16
        prev = b''
        k = 0
        first = None
        while o < end:
            pre, o = vbyte(b, o, end)
            sl, o = vbyte(b, o, end)
            suf = b[o:o + sl]
            o += sl
            df, o = vbyte(b, o, end)
            cf, o = vbyte(b, o, end)
            t = prev[:pre] + suf
            need(pre <= len(prev), 'dict', f"Prefix {pre} > previous length")
            if k == 0:
                need(pre == 0, 'dict', f"block {bi}: first Prefix {pre}")
                first = t
            else:
                need(not suf or pre >= len(prev) or suf[0] != prev[pre], 'dict',
                     f"term {t!r}: Prefix {pre} not the longest common prefix")
            kind = 'stem' if t[:1] == b'\x01' else 'pair' if t[:1] == b'\x02' else 'word'
            if df == 1:
                plen = None
            else:
                plen, o = vbyte(b, o, end)
            if kind == 'word':
                qlen, o = vbyte(b, o, end)
            else:
                qlen = 0
            terms.append(dict(term=t, kind=kind, df=df, cf=cf, plen=plen, qlen=qlen,
                              block=bi, k=k, blk_pst=pst, blk_pos=pos))
            prev = t
            k += 1
        need(o == end, 'dict', f"block {bi} overruns {o} > {end}")
        need(k == 32 or (bi == BC - 1 and 1 <= k <= 32), 'dict', f"block {bi} holds {k} terms")
        key = int.from_bytes((first[:8] + b'\0' * 8)[:8], 'big')
        need(key == keys[bi], 'dict', f"block {bi}: FirstKey {keys[bi]:016x} != {key:016x}")
    need(len(terms) == TC, 'dict', f"TermCount {TC} != decoded {len(terms)}")
    for i in range(len(terms) - 1):
        need(terms[i]['term'] < terms[i + 1]['term'], 'dict',
             f"terms not increasing: {terms[i]['term']!r} {terms[i + 1]['term']!r}")
    for t in terms:
        need(1 <= len(t['term']) <= 255 and 1 <= t['df'] <= t['cf'], 'dict', f"term {t['term']!r} df/cf/len")
        need(b'\0' not in t['term'], 'dict', 'zero byte in term')
    return terms, common, keys


# ---------------------------------------------------------------- postings + positions
def decode_postings(seg, terms, pst, pos, ndocs, tokens):
    DW = bits_needed(ndocs - 1) if ndocs else 0
    seg['DW'] = DW
    check_header_crc(pst, b'LODE\0PST', 'postings.pst')
    check_header_crc(pos, b'LODE\0POS', 'positions.pos')
    # offsets
    po = qo = None
    curblk = -1
    for t in terms:
        if t['block'] != curblk:
            curblk = t['block']
            po, qo = t['blk_pst'], t['blk_pos']
        if t['df'] == 1:
            t['plen'] = (DW + 7) // 8
        t['poff'], t['qoff'] = po, qo
        po += t['plen']
        qo += t['qlen']
    # whole-file contiguity (the grammar: TermPostings^TermCount)
    if terms:
        need(terms[0]['poff'] == 16 and terms[0]['qoff'] == 16, 'layout', 'first term not at offset 16')
        for a, c in zip(terms, terms[1:]):
            need(c['poff'] == a['poff'] + a['plen'], 'layout', f"postings gap before {c['term']!r}")
            need(c['qoff'] == a['qoff'] + a['qlen'], 'layout', f"positions gap before {c['term']!r}")
        need(terms[-1]['poff'] + terms[-1]['plen'] + 16 + 4 == len(pst), 'layout',
             f"postings end {terms[-1]['poff'] + terms[-1]['plen']} size {len(pst)}")
        need(terms[-1]['qoff'] + terms[-1]['qlen'] + 8 + 4 == len(pos), 'layout',
             f"positions end {terms[-1]['qoff'] + terms[-1]['qlen']} size {len(pos)}")
        need(pst[-20:-4] == b'\0' * 16, 'pad', 'postings padding nonzero')
        need(pos[-12:-4] == b'\0' * 8, 'pad', 'positions padding nonzero')
    for t in terms:
        try:
            decode_term(t, pst, pos, DW, ndocs, tokens)
        except Corrupt as e:
            bad('decode', f"term {t['term']!r}: {e}")
            t['docs'] = []


def check_pfor_choice(vals, w, exc, tname, what):
    mx = max(vals)
    W = mx.bit_length()
    n = len(vals)
    best = None
    for ww in range(0, W + 1):
        cnt = sum(1 for v in vals if v >> ww)
        cost = (n * ww + 7) // 8 + (2 + cnt + (cnt * (W - ww) + 7) // 8 if cnt else 0)
        if best is None or cost <= best[0]:
            best = (cost, ww)
    need(w == best[1], 'writer', f"{tname} {what}: w {w}, expected {best[1]} (max width {W})")
    if exc:
        need(exc[1] == W - w, 'writer', f"{tname} {what}: HighWidth {exc[1]} != {W - w}")


def decode_term(t, pst, pos, DW, ndocs, tokens):
    tn = t['term']
    df = t['df']
    o = t['poff']
    end = o + t['plen']
    blocks = []     # (docs, freqs)
    t['rice'] = False
    if df == 1:
        (d,), _ = packed(pst, o, 1, DW, 'single doc')
        blocks = [([d], [t['cf']])]
        B = 1
    else:
        B = (df + 127) // 128
        if B == 1:
            dh, fh = pst[o], pst[o + 1]
            p = o + 2
            if dh & 0xC0 == 0x40:
                K = dh - 0x40
                need(K <= 31, 'postings', f"{tn!r}: Rice K {K}")
                fv, p, fw, fexc = pfor(pst, p, df, fh, 'freqs')
                gaps, nb = rice_decode(pst[p:end], df, K, 0)
                p += nb
                t['rice'] = True
                notes['rice-coded single-block terms'] += 1
                # writer: K as for positions, Rice only when fewer bytes
                kk, bits = rice_choose(gaps)
                need(K == kk, 'writer', f"{tn!r}: Rice K {K}, expected {kk}")
                pk = (df * max(gaps).bit_length() + 7) // 8
                need((bits + 7) // 8 < pk, 'writer', f"{tn!r}: Rice {(bits + 7) // 8} bytes not < packed {pk}")
            else:
                gaps, p, dw, dexc = pfor(pst, p, df, dh, 'docs')
                fv, p, fw, fexc = pfor(pst, p, df, fh, 'freqs')
                need(dexc is None and dw == max(gaps).bit_length(), 'writer',
                     f"{tn!r}: docs w {dw} exc {dexc}")
                if df > 1:
                    kk, bits = rice_choose(gaps)
                    pk = (df * dw + 7) // 8
                    need(not (bits + 7) // 8 < pk, 'writer', f"{tn!r}: packed {pk} bytes but Rice would take {(bits + 7) // 8}")
            check_pfor_choice(fv, fw, fexc, tn, 'freqs')
            docs = []
            prev = -1
            for g in gaps:
                prev = prev + g + 1
                docs.append(prev)
            blocks = [(docs, [f + 1 for f in fv])]
            need(p == end, 'postings', f"{tn!r}: single block ends at {p}, term at {end}")
            t['fbound'] = (fw + (fexc[1] if fexc else 0))
        else:
            ow, pw = pst[o], pst[o + 1]
            p = o + 2
            last, p = packed(pst, p, B, DW, 'LastDoc')
            boff, p = packed(pst, p, B, ow, 'BlockOffset')
            qoffs, p = packed(pst, p, B, pw, 'PositionsOffset')
            need(p - o == 2 + (B * DW + 7) // 8 + (B * ow + 7) // 8 + (B * pw + 7) // 8, 'postings', 'skip size')
            need(boff[0] == 0 and qoffs[0] == 0, 'postings', f"{tn!r}: block 0 offsets {boff[0]},{qoffs[0]}")
            need(ow == boff[-1].bit_length() and pw == qoffs[-1].bit_length(), 'writer',
                 f"{tn!r}: skip widths {ow},{pw} for last offsets {boff[-1]},{qoffs[-1]}")
            t['skip'] = (last, boff, qoffs)
            if t['kind'] != 'word':
                notes[f"no-positions term skip: PositionsWidth {pw}, offsets all 0: {not any(qoffs)}"] += 1
            notes['skip-table bytes'] += p - o
            notes['skip entries'] += B
            t['impacts'] = []
            base = p
            prev = -1
            for bi in range(B):
                n = 128 if bi < B - 1 else df - 128 * (B - 1)
                need(base + boff[bi] == p, 'postings', f"{tn!r} block {bi}: offset {boff[bi]} vs {p - base}")
                p = base + boff[bi]
                dh, fh = pst[p], pst[p + 1]
                p += 2
                need(dh & 0x40 == 0, 'postings', f"{tn!r} block {bi}: Rice DocHeader in multi-block term")
                gaps, p, dw, dexc = pfor(pst, p, n, dh, 'docs')
                fv, p, fw, fexc = pfor(pst, p, n, fh, 'freqs')
                need(dexc is None and dw == max(gaps).bit_length(), 'writer', f"{tn!r}: docs w {dw} exc {dexc}")
                check_pfor_choice(fv, fw, fexc, tn, f'block {bi} freqs')
                docs = []
                for g in gaps:
                    prev = prev + g + 1
                    docs.append(prev)
                need(docs[-1] == last[bi], 'postings', f"{tn!r} block {bi}: LastDoc {last[bi]} != {docs[-1]}")
                freqs = [f + 1 for f in fv]
                cnt = pst[p]
                p += 1
                imp = []
                f = 0
                for _ in range(cnt):
                    gap, p = vbyte(pst, p, end)
                    need(gap >= 1, 'impacts', 'FreqGap 0')
                    f += gap
                    imp.append((f, SMALL8[pst[p]]))
                    p += 1
                need(1 <= cnt <= 128, 'impacts', f"Count {cnt}")
                need(all(imp[i][1] < imp[i + 1][1] for i in range(len(imp) - 1)), 'impacts',
                     f"{tn!r}: lengths not increasing {imp}")
                # expected list
                fs = sorted(set(freqs))
                L = {}
                for ff in fs:
                    L[ff] = small8_floor(min(tokens[d] for d, q in zip(docs, freqs) if q >= ff))
                exp = [(ff, SMALL8[L[ff]]) for i, ff in enumerate(fs)
                       if i == len(fs) - 1 or L[ff] < L[fs[i + 1]]]
                need(imp == exp, 'impacts', f"{tn!r} block {bi}: impacts {imp} != expected {exp}")
                t['impacts'].append(imp)
                blocks.append((docs, freqs))
            need(p == end, 'postings', f"{tn!r}: last block ends at {p}, term at {end}")
    alld = [d for bd, _ in blocks for d in bd]
    allf = [f for _, bf in blocks for f in bf]
    need(len(alld) == df, 'postings', f"{tn!r}: {len(alld)} docs != df {df}")
    need(sum(allf) == t['cf'], 'postings', f"{tn!r}: sum freq {sum(allf)} != cf {t['cf']}")
    need(all(alld[i] < alld[i + 1] for i in range(len(alld) - 1)) and alld[-1] < ndocs, 'postings',
         f"{tn!r}: doc ids not increasing / out of range")
    t['docs'] = alld
    t['freqs'] = allf
    # positions
    if t['kind'] != 'word':
        need(t['qlen'] == 0, 'positions', f"{tn!r}: positions length {t['qlen']}")
        return
    qo = t['qoff']
    qend = qo + t['qlen']
    starts = t['skip'][2] if 'skip' in t else [0]
    need(len(starts) == len(blocks), 'positions', 'block count')
    plist = []
    for bi, (bd, bf) in enumerate(blocks):
        s = qo + starts[bi]
        e = qo + starts[bi + 1] if bi + 1 < len(blocks) else qend
        need(qo <= s < e <= qend, 'positions', f"{tn!r} block {bi}: extent {s}..{e}")
        data = pos[s:e]
        bs = BitStream(data[:1])
        K = bs.field(0, 5)
        V = sum(bf)
        vals, nb = rice_decode(data, V, K, 5)
        need(nb == len(data), 'positions', f"{tn!r} block {bi}: codes end at byte {nb} of {len(data)}")
        kk, _ = rice_choose(vals)
        need(K == kk, 'writer', f"{tn!r} positions block {bi}: K {K}, expected {kk}")
        j = 0
        for d, f in zip(bd, bf):
            ps = []
            p = -1
            for i in range(f):
                p = vals[j] if i == 0 else p + vals[j] + 1
                j += 1
                ps.append(p)
            need(ps[-1] < tokens[d], 'positions', f"{tn!r}: doc {d} position {ps[-1]} >= tokens {tokens[d]}")
            plist.append(ps)
    t['positions'] = plist


# ---------------------------------------------------------------- segment-level semantic checks
def semantic_checks(seg):
    terms, common, dt = seg['terms'], seg['common'], seg['dt']
    D = dt['D']
    words = [t for t in terms if t['kind'] == 'word']
    # every token is a term: positions partition 0..Tokens-1
    cover = [0] * D
    seen = [set() for _ in range(D)] if D <= 50000 else None
    for t in words:
        for d, ps in zip(t['docs'], t.get('positions', [])):
            cover[d] += len(ps)
    for d in range(D):
        need(cover[d] == dt['tokens'][d], 'semantic', f"doc {d}: {cover[d]} positions != Tokens {dt['tokens'][d]}")
    # positions are disjoint between terms: a per-doc bitmap
    owner = [bytearray(dt['tokens'][d]) for d in range(D)]
    for t in words:
        for d, ps in zip(t['docs'], t.get('positions', [])):
            ob = owner[d]
            for p in ps:
                if ob[p]:
                    bad('semantic', f"doc {d} position {p} claimed twice ({t['term']!r})")
                ob[p] = 1
    # token tables per doc (for phrases / pairs)
    seq = [[None] * dt['tokens'][d] for d in range(D)]
    for t in words:
        for d, ps in zip(t['docs'], t.get('positions', [])):
            s = seq[d]
            for p in ps:
                s[p] = t['term']
    seg['seq'] = seq
    # common words: top 128 by cf among the first 4 Mi tokens, each >= 1/1000
    total = dt['total']
    LIM = 4 << 20
    if total <= LIM:
        cnt = {t['term']: t['cf'] for t in words}
        base_n = total
    else:
        # the build's first 4 Mi tokens, in document order
        cnt = collections.Counter()
        left = LIM
        for d in range(D):
            s = seq[d][:left]
            cnt.update(s)
            left -= len(s)
            if not left:
                break
        base_n = LIM
        notes['common words re-derived from the first 4 Mi tokens'] += 1
    ranked = sorted(cnt, key=lambda w: (-cnt[w], w))
    exp = [w for w in ranked[:128] if cnt[w] * 1000 >= base_n]
    need(sorted(exp) == common, 'common', f"common words differ: expected {len(exp)} got {len(common)}; "
         f"missing {sorted(set(exp) - set(common))[:5]} extra {sorted(set(common) - set(exp))[:5]}")
    borderline = [w for w in ranked[:129] if cnt[w] * 1000 == base_n]
    if borderline:
        notes['common-word borderline (cf*1000 == total)'] += len(borderline)
    if len(ranked) > 128 and cnt[ranked[127]] == cnt[ranked[128]] and cnt[ranked[128]] * 1000 >= base_n:
        notes['common-word cut falls on a tie (byte-order rule exercised)'] += 1
    # pair terms
    cs = set(common)
    exp = collections.defaultdict(lambda: collections.Counter())
    for d in range(D):
        s = seq[d]
        for p in range(len(s) - 1):
            if s[p] in cs and s[p + 1] in cs:
                exp[b'\x02' + s[p] + b' ' + s[p + 1]][d] += 1
    got = {t['term']: t for t in terms if t['kind'] == 'pair'}
    need(set(exp) == set(got), 'pairs', f"pair terms: {len(exp)} expected, {len(got)} present; "
         f"missing {sorted(set(exp) - set(got))[:3]} extra {sorted(set(got) - set(exp))[:3]}")
    for k, t in got.items():
        e = exp.get(k, {})
        need(sorted(e.items()) == list(zip(t['docs'], t['freqs'])), 'pairs', f"pair {k!r}: postings differ")
    notes['pair terms checked'] += len(got)


# ---------------------------------------------------------------- comparison with lode
def lode_run(lode, idx, args):
    r = subprocess.run([lode, 'search', '-i', idx] + args, capture_output=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"lode {args}: rc {r.returncode} {r.stderr[:200]!r}")
    return r.stdout


def q(term):
    return term.decode('utf-8', 'surrogateescape')


def compare_lode(index, lode, segs, stemmed, sample, nphr, rng):
    allterms = collections.defaultdict(list)      # term -> [(seg, t)]
    path2id = {}
    paths = []
    for s in segs:
        for i, d in enumerate(s['dt']['docs']):
            gid = s['base'] + i
            path2id[d['path']] = gid
            paths.append(d['path'])
        for t in s['terms']:
            allterms[t['term']].append((s, t))
    need(len(path2id) == len(paths), 'lode', 'duplicate paths')

    def gdocs(term):
        out = {}
        for s, t in allterms.get(term, []):
            for d, f in zip(t['docs'], t['freqs']):
                out[s['base'] + d] = f
        return out

    def lode_ids(args):
        out = lode_run(lode, index, args)
        ids = []
        for line in out.split(b'\n'):
            if line:
                if line not in path2id:
                    bad('lode', f"lode printed unknown path {line!r}")
                    continue
                ids.append(path2id[line])
        need(ids == sorted(ids), 'lode', f"-l not in index order for {args}")
        return ids

    words = sorted(k for k in allterms if k[:1] not in (b'\x01', b'\x02'))
    if sample and len(words) > sample:
        df = {w: sum(t['df'] for _, t in allterms[w]) for w in words}
        chosen = set(rng.sample(words, sample))
        if not NO_DF1:
            chosen |= {w for w in words if df[w] == 1}
        chosen |= set(sorted(words, key=lambda w: -df[w])[:30])
        chosen = sorted(chosen)
    else:
        chosen = words
    nost = ['--no-stem'] if stemmed else []
    for w in chosen:
        exp = sorted(gdocs(w))
        got = lode_ids(nost + ['-l', '-n', '100000', q(w)])
        need(got == exp, 'LODE-MISMATCH', f"term {w!r}: lode -l {got[:10]}… ({len(got)}) != decoded {exp[:10]}… ({len(exp)})")
        c = lode_run(lode, index, nost + ['-c', q(w)]).strip()
        need(c == str(len(exp)).encode(), 'LODE-MISMATCH', f"term {w!r}: lode -c {c!r} != {len(exp)}")
    notes['words compared with lode'] += len(chosen)
    # stem terms: a bare word matches its stem's postings; stem = sum of its words
    if stemmed:
        stems = {k: gdocs(k) for k in allterms if k[:1] == b'\x01'}
        bydocs = collections.defaultdict(list)
        for k, m in stems.items():
            bydocs[tuple(sorted(m))].append(k)
        groups = collections.defaultdict(list)     # lode's docset -> words
        for w in chosen:
            got = tuple(lode_ids(['-l', '-n', '100000', q(w)]))
            wd = gdocs(w)
            need(got in bydocs, 'stem', f"word {w!r}: lode's stemmed docs match no stem term")
            need(set(wd) <= set(got), 'stem', f"word {w!r}: stemmed match misses the word's own documents")
            groups[got].append(w)
        if len(chosen) == len(words):
            # each group: assign every word to one stem of the group so that
            # every stem's postings are exactly the sum of its words'
            def lcp(a, b):
                i = 0
                while i < min(len(a), len(b)) and a[i] == b[i]:
                    i += 1
                return i
            okg = 0
            for key, ws in groups.items():
                ks = bydocs.get(key, [])
                resid = {k: collections.Counter(stems[k]) for k in ks}
                wds = {w: gdocs(w) for w in ws}
                order = sorted(ws, key=lambda w: -sum(wds[w].values()))
                steps = [0]

                byfirst = collections.defaultdict(list)
                for k in ks:
                    byfirst[k[1:2]].append(k)

                def cands(w):
                    near = sorted(byfirst.get(w[:1], []), key=lambda k: -lcp(k[1:], w))
                    return near + [k for k in ks if k[1:2] != w[:1]]

                def solve():
                    # iterative backtracking: stack of (word index, candidate list, pos)
                    stack = []
                    i = 0
                    steps = 0
                    while True:
                        steps += 1
                        if steps > 200000:
                            return None
                        if i == len(order):
                            if all(not +r for r in resid.values()):
                                return True
                            advance = False
                        else:
                            stack.append([cands(order[i]), -1])
                            advance = False
                        # try next candidate of the top frame
                        while stack:
                            fr = stack[-1]
                            w = order[len(stack) - 1]
                            if fr[1] >= 0:
                                k = fr[0][fr[1]]
                                for d, f in wds[w].items():
                                    resid[k][d] += f
                            fr[1] += 1
                            while fr[1] < len(fr[0]):
                                r = resid[fr[0][fr[1]]]
                                if all(r[d] >= f for d, f in wds[w].items()):
                                    break
                                fr[1] += 1
                            if fr[1] < len(fr[0]):
                                r = resid[fr[0][fr[1]]]
                                for d, f in wds[w].items():
                                    r[d] -= f
                                i = len(stack)
                                advance = True
                                break
                            stack.pop()
                        if not advance:
                            return False
                res = solve()
                if res is None:
                    notes['stem groups too large to solve'] += 1
                else:
                    need(res, 'stem', f"stems {ks}: no assignment of words {ws[:8]} sums to their postings")
                    okg += bool(res)
            notes['stem groups whose postings are the sum of their words'] += okg
            notes['stem terms'] += len(stems)
            used = {k for key in groups for k in bydocs.get(key, [])}
            need(used == set(stems), 'stem', f"{len(set(stems) - used)} stem terms match no word: "
                 f"{sorted(set(stems) - used)[:5]}")
    # phrases
    for s in segs[:1]:
        seq = s['seq']
    adj = []
    for s in segs:
        for d, sq in enumerate(s['seq']):
            for p in range(len(sq) - 1):
                adj.append((sq[p], sq[p + 1]))
    cand = set()
    if adj:
        for _ in range(nphr):
            cand.add(rng.choice(adj))
        for _ in range(nphr // 5):      # random non-adjacent pairs too
            cand.add((rng.choice(words), rng.choice(words)))
        cs = set(segs[0]['common'])
        cpairs = [a for a in adj if a[0] in cs and a[1] in cs]
        for _ in range(min(nphr // 5, len(cpairs))):
            cand.add(rng.choice(cpairs))
    for a, b2 in sorted(cand):
        exp = set()
        for s in segs:
            for d, sq in enumerate(s['seq']):
                for p in range(len(sq) - 1):
                    if sq[p] == a and sq[p + 1] == b2:
                        exp.add(s['base'] + d)
                        break
        got = lode_ids(['-l', '-n', '100000', f'"{q(a)} {q(b2)}"'])
        need(got == sorted(exp), 'LODE-MISMATCH', f'phrase "{a!r} {b2!r}": lode {got[:10]} != decoded {sorted(exp)[:10]}')
    notes['two-word phrases compared with lode'] += len(cand)
    # three-word phrases (pairs of common words inside them use pair terms)
    tri = set()
    for _ in range(nphr // 2):
        s = rng.choice(segs)
        d = rng.randrange(len(s['seq']))
        sq = s['seq'][d]
        if len(sq) >= 3:
            p = rng.randrange(len(sq) - 2)
            tri.add(tuple(sq[p:p + 3]))
    cs = set(segs[0]['common']) if segs else set()
    for ph in sorted(tri):
        exp = set()
        for s in segs:
            for d, sq in enumerate(s['seq']):
                for p in range(len(sq) - 2):
                    if tuple(sq[p:p + 3]) == ph:
                        exp.add(s['base'] + d)
                        break
        got = lode_ids(['-l', '-n', '100000', '"' + ' '.join(q(w) for w in ph) + '"'])
        need(got == sorted(exp), 'LODE-MISMATCH', f'phrase {ph!r}: lode {got[:10]} != decoded {sorted(exp)[:10]}')
        notes['three-word phrases with a common pair'] += (ph[0] in cs and ph[1] in cs) or (ph[1] in cs and ph[2] in cs)
    notes['three-word phrases compared with lode'] += len(tri)


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('index')
    ap.add_argument('--lode')
    ap.add_argument('--root', default='.', help='directory the indexed paths are relative to')
    ap.add_argument('--sample', type=int, default=0)
    ap.add_argument('--phrases', type=int, default=100)
    ap.add_argument('--zstd', action='store_true', help='also decompress text.z with the zstd CLI')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--dump', action='store_true')
    ap.add_argument('--no-df1', action='store_true', help='with --sample: do not add every df-1 term')
    a = ap.parse_args()
    rng = random.Random(a.seed)
    global NO_DF1
    NO_DF1 = a.no_df1
    stem, segs_m = read_manifest(a.index)
    print(f"MANIFEST: stemmer {stem!r}, segments {segs_m}")
    segs = []
    base = 0
    for gen, nd in segs_m:
        sd = os.path.join(a.index, f"seg-{gen:06d}")
        seg = dict(gen=gen, base=base)
        textz = read_file(os.path.join(sd, 'text.z'))
        dt = read_docs(os.path.join(sd, 'docs.tab'), nd, textz)
        check_text(os.path.join(sd, 'text.z'), dt, a.root, a.zstd)
        terms, common, keys = read_dict(os.path.join(sd, 'terms.dic'))
        pst = read_file(os.path.join(sd, 'postings.pst'))
        pos = read_file(os.path.join(sd, 'positions.pos'))
        seg.update(dt=dt, terms=terms, common=common)
        decode_postings(seg, terms, pst, pos, dt['D'], dt['tokens'])
        semantic_checks(seg)
        if not stem:
            need(not any(t['kind'] == 'stem' for t in terms), 'dict', 'stem terms without stemmer')
        # files on disk
        for i, d in enumerate(dt['docs']):
            fp = os.path.join(a.root, d['path'].decode('utf-8', 'surrogateescape'))
            try:
                st = os.stat(fp)
                need(st.st_size == d['length'], 'docs', f"doc {i}: ByteLength {d['length']} != size {st.st_size}")
                if int(st.st_mtime) != d['mtime']:
                    notes['mtime differs from file (checkout?)'] += 1
                else:
                    notes['mtime == file'] += 1
            except OSError:
                notes['path not found on disk'] += 1
        comps = [d['path'].split(b'/') for d in dt['docs']]
        need(all(comps[i] < comps[i + 1] for i in range(len(comps) - 1)), 'docs', 'paths not in walk order')
        kinds = collections.Counter(t['kind'] for t in terms)
        print(f"seg {gen}: {dt['D']} docs, {dt['total']} tokens, {dt['C']} chunks, DocWidth {seg['DW']}, "
              f"terms {dict(kinds)}, common {len(common)}, "
              f"df1 {sum(t['df'] == 1 for t in terms)}, one-block {sum(1 < t['df'] <= 128 for t in terms)}, "
              f"multi-block {sum(t['df'] > 128 for t in terms)}")
        if a.dump:
            for i, d in enumerate(dt['docs']):
                print(' doc', i, d)
            print(' common', common)
            for t in terms:
                print(' ', t['term'], t['df'], t['cf'], t['docs'], t['freqs'], t.get('positions'),
                      'rice' if t.get('rice') else '')
        segs.append(seg)
        base += nd
    if a.lode:
        compare_lode(a.index, a.lode, segs, bool(stem), a.sample, a.phrases, rng)
    print("notes:", dict(notes))
    cats = collections.Counter(c for c, _ in problems)
    print("problems:", dict(cats) if cats else "none")
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
