#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets that need built inputs
(fuzz_replay, fuzz_journal) and copies the fixtures that seed the others,
with their mode bytes. Run from anywhere; idempotent."""
import msgpack, os, shutil, struct, sys

top = os.path.dirname(os.path.abspath(__file__))
fix = os.path.join(top, '..', 'fixtures')

def out(target, name, data):
    d = os.path.join(top, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

def fixture(rel):
    with open(os.path.join(fix, rel), 'rb') as f:
        return f.read()

# ---- replay requests
mp = msgpack.packb
out('fuzz_replay', 'empty_map.mp', mp({}))
out('fuzz_replay', 'replay_all.mp', mp({'op': 'replay', 'after': 0}))
out('fuzz_replay', 'count.mp', mp({'op': 'count', 'after': 5, 'upto': 100, 'prefixes': ['un.', 'gov.fr.']}))
out('fuzz_replay', 'limit_big.mp', mp({'after': 2**64 - 1, 'limit': 2**40}))
out('fuzz_replay', 'prefixes_65.mp', mp({'prefixes': ['p%d' % i for i in range(65)]}))
out('fuzz_replay', 'bad_prefix.mp', mp({'prefixes': ['UN.', 'a b', '\x1b[31m']}))
out('fuzz_replay', 'dup_key.mp', b'\x82\xa5after\x01\xa5after\x02')
out('fuzz_replay', 'unknown_key.mp', mp({'op': 'replay', 'evil': 1}))
out('fuzz_replay', 'trailing.mp', mp({'after': 1}) + b'\xc0')
out('fuzz_replay', 'array32_huge.mp', b'\x81\xa8prefixes\xdd\xff\xff\xff\xff')
out('fuzz_replay', 'str32_huge.mp', b'\x81\xa2op\xdb\x7f\xff\xff\xff')
out('fuzz_replay', 'map32_huge.mp', b'\xdf\xff\xff\xff\xff')
out('fuzz_replay', 'negative.mp', mp({'after': -1}))
out('fuzz_replay', 'wrong_types.mp', mp({'op': 3, 'after': 'x', 'prefixes': 'un.'}))
out('fuzz_replay', 'not_map.mp', mp(['replay', 0]))
out('fuzz_replay', 'bin_prefix.mp', b'\x81\xa8prefixes\x91\xc4\x03un.')

# ---- events: unknown and repeated keys (docs/protocol.md, Events)
base = {'v': 1, 'id': '442a44457137672b3218c1007dc8f76a', 'type': 'new', 'source': 'un-ctitf',
        'topic': 'un.ctitf'}
head = lambda extra: bytes([0x80 + 5 + extra]) + mp(base)[1:]   # fixmap, EXTRA pairs follow
out('fuzz_event', 'unknown_bad_utf8.mp', head(1) + b'\xa1x\xa3\xc3\x28\x41')
out('fuzz_event', 'unknown_nul.mp', head(1) + b'\xa1x\xa3a\x00b')
out('fuzz_event', 'unknown_key_bad_utf8.mp', head(1) + b'\xa2k\xff\xc0')
out('fuzz_event', 'unknown_int_key.mp', head(1) + b'\xa1x\x81\x01\xc0')
out('fuzz_event', 'unknown_dup_key.mp', head(1) + b'\xa1x\x82\xa1a\x01\xa1a\x02')
out('fuzz_event', 'top_dup_key.mp', head(2) + b'\xa1x\x01\xa1x\x02')
out('fuzz_event', 'dup_detected.mp', head(2) + b'\xa8detected\x01\xa8detected\x02')
out('fuzz_event', 'unknown_ext_timestamp.mp', head(1) + b'\xa1x\xc7\x03\xff\x00\x00\x00')
out('fuzz_event', 'unknown_map_65.mp', head(1) + b'\xa1x' + mp({'k%d' % i: i for i in range(65)}))
out('fuzz_event', 'unknown_fine.mp', head(1) + b'\xa1x' + mp({'b': b'\xff', 'f': 2.5, 's': 'été',
                                                                 'm': {'a': [None, True]}}))

# ---- journal segments (format: broker/journal.h)
def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff

def record(seq, topic, event):
    body = struct.pack('<QH', seq, len(topic)) + topic + event
    return struct.pack('<II', len(body), crc32c(body)) + body

def header(base):
    return b'VLJOURN1' + struct.pack('<Q', base)

ev = lambda i: mp({'v': 1, 'id': '%032x' % i, 'type': 'new', 'source': 's',
                   'topic': 'un.ctitf', 'url': 'https://un.org/%d' % i,
                   'title': 't%d' % i, 'detected': 1700000000000 + i})
recs = [record(i, b'un.ctitf' if i % 2 else b'gov.fr.interieur', ev(i)) for i in range(1, 6)]
good = b''.join(recs)
out('fuzz_journal', 'five_records.bin', b'\x00' + good)
out('fuzz_journal', 'five_records_raw.bin', b'\x01' + header(1) + good)
out('fuzz_journal', 'torn_tail.bin', b'\x00' + good[:-7])
bad = bytearray(good); bad[len(recs[0]) + 20] ^= 0xff
out('fuzz_journal', 'bad_crc_middle.bin', b'\x00' + bytes(bad))
out('fuzz_journal', 'fixcrc_bad_seq.bin', b'\x02' + recs[0] + record(7, b'un.x', ev(7)))
out('fuzz_journal', 'fixcrc_zero_topic.bin', b'\x02' + struct.pack('<IIQH', 14, 0, 1, 0) + b'ab')
out('fuzz_journal', 'huge_len.bin', b'\x00' + struct.pack('<II', 0xffffffff, 0) + b'x' * 32)
out('fuzz_journal', 'two_segments.bin', b'\x06' + b''.join(recs[:3]) + b'SEG2' +
    b''.join(record(i, b'un.y', ev(i)) for i in range(4, 7)))
out('fuzz_journal', 'wrong_magic_raw.bin', b'\x01' + b'VLJOURN2' + struct.pack('<Q', 1) + good)
out('fuzz_journal', 'base_mismatch_raw.bin', b'\x01' + header(9) + good)
out('fuzz_journal', 'empty.bin', b'\x00')

# ---- parsers seeded from the fixtures
for rel in ['feeds/press-atom.xml', 'feeds/press-rss2-cp1252.xml', 'feeds/press-rss2.xml',
            'feeds/un-ga-rdf.xml', 'broken/billion-laughs.xml', 'broken/xxe.xml',
            'broken/truncated.xml', 'broken/entities-cdata.xml', 'broken/duplicate-guids.xml',
            'broken/xml-base-relative.xml', 'broken/rss-relative-nobase.xml',
            'broken/no-dates.xml', 'broken/not-a-feed.xml']:
    out('fuzz_feed', os.path.basename(rel), fixture(rel))
out('fuzz_feed', 'date_rfc822.txt', b'Tue, 26 Jan 2016 10:00:00 +0100\n')
out('fuzz_feed', 'javascript_link.xml', b'<rss version="2.0"><channel><item><title>a\x1b[2J</title>'
    b'<link>javascript:alert(1)</link></item><item><link>gopher://x/</link></item></channel></rss>')
out('fuzz_feed', 'crlf_title.xml', b'<rss><channel><item><title>Hi\r\nBcc: victim@example.org'
    b'</title><guid>1</guid></item></channel></rss>')

pages = ['pages/press-latin1.html', 'pages/rfi-edited.html', 'pages/rfi-original.html',
         'pages/un-ctitf.html', 'pages/un-ctitf-newdoc.html']
for i, rel in enumerate(pages):
    out('fuzz_page', 'conf%d_%s' % (i, os.path.basename(rel)), bytes([i]) + fixture(rel))
    out('fuzz_page', 'auto%d_%s' % (i, os.path.basename(rel)), bytes([0x40 | (i + 2)]) + fixture(rel))
out('fuzz_page', 'own_css.html', b'\x80ul > li:nth-of-type(2) a[href^="/"]\n' + fixture('pages/un-ctitf.html'))
out('fuzz_page', 'own_xpath.html', b'\x81//li[position()>1]/a\n<ul><li><a href="/x">x</a></li><li><a href="y">y</a></li></ul>')
out('fuzz_page', 'auto_feed.xml', b'\x40' + fixture('feeds/press-rss2.xml'))
out('fuzz_page', 'auto_json.json', b'\x40' + fixture('json/api-sample.json'))

out('fuzz_json', 'api_sample.json', b'\n' + fixture('json/api-sample.json'))
out('fuzz_json', 'bad.json', b'\n' + fixture('broken/bad.json'))
out('fuzz_json', 'nested_path.json', b'data.items.0.list\n{"data":{"items":[{"list":[{"id":1,"title":"a","url":"/x","date":1700000000}]}]}}')
out('fuzz_json', 'custom_fields.json', b'x\n{"x":[{"meta":{"uid":7},"attributes":{"title":{"fr":"T"}},"links":[{"href":"https://a/"}],"ts":"2024-01-01T00:00:00Z","body":"b"}]}\n')
out('fuzz_json', 'deep.json', b'\n' + b'[' * 200 + b']' * 200)
out('fuzz_json', 'huge_number.json', b'\n[{"id":1e400,"title":"x","date":-9223372036854775809}]')

for i, rel in enumerate(['pages/press-latin1.html', 'feeds/press-rss2-cp1252.xml', 'broken/wrong-charset.xml']):
    out('fuzz_charset', os.path.basename(rel), bytes([i, i]) + fixture(rel))
out('fuzz_charset', 'utf16le_bom.txt', b'\x00\x00\xff\xfeh\x00\xe9\x00')
out('fuzz_charset', 'utf16be_odd.txt', b'\x00\x00\xfe\xff\x00h\x00')
out('fuzz_charset', 'meta_charset.html', b'\x00\x01<html><head><meta charset="koi8-r"></head><body>\xf0\xf2\xe9</body></html>')
out('fuzz_charset', 'xml_decl.xml', b'\x00\x00<?xml version="1.0" encoding="ISO-8859-15"?><a>\xa4</a>')
out('fuzz_charset', 'bad_utf8.txt', b'\x04\x02\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff')
out('fuzz_charset', 'shift_jis.txt', b'\x09\x00\x82\xa0\x82\xa2\x82')
