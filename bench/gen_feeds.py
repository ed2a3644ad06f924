#!/usr/bin/python3
"""Generates the feeds of the watcher benchmark and the configs that watch them.

  gen_feeds.py --dir DIR --count N                 writes DIR/feeds/00000.xml ...
  gen_feeds.py --dir DIR --count N --edit 1 --round R
        rewrites 1 % of the feeds (every 100th, shifted by R) with one new
        item on top (the oldest drops out) and an mtime 10 s later, so nginx
        serves a new ETag/Last-Modified for them and 304 for the others.
  gen_feeds.py --dir DIR --count N --watch-conf F --broker EP --state S --port P
  gen_feeds.py --dir DIR --count N --urlwatch-urls F --port P

Each feed is RSS 2.0 with 20 items (~12 KB), text cut from ../shared/seeds
(French, accents, typographic quotes), deterministic for a given index.
"""
import argparse
import email.utils
import os
import sys
from xml.sax.saxutils import escape

ITEMS = 20


def seed_words(seeds_dir):
    words = []
    try:
        names = sorted(n for n in os.listdir(seeds_dir) if n.endswith('.txt'))
    except OSError:
        names = []
    for n in names:
        with open(os.path.join(seeds_dir, n), encoding='utf-8') as fp:
            words.extend(fp.read().split())
    if not words:
        words = ("La lutte contre l'utilisation d'Internet à des fins terroristes : "
                 "l'Équipe spéciale coordonne les efforts à l'échelle internationale.").split()
    return words


class Text:
    def __init__(self, words):
        self.words = words
        self.n = len(words)

    def cut(self, key, nbytes):
        """About NBYTES of text starting at a position derived from KEY."""
        i = (key * 7919) % self.n
        out, size = [], 0
        while size < nbytes:
            w = self.words[i % self.n]
            out.append(w)
            size += len(w.encode('utf-8')) + 1
            i += 1
        return ' '.join(out)


def feed_xml(text, port, idx, rev):
    """Feed IDX at revision REV: items REV .. REV+19, newest first."""
    base = 1700000000 + idx * 37
    items = []
    for k in range(rev + ITEMS - 1, rev - 1, -1):
        key = idx * 1000 + k
        title = text.cut(key, 70)
        desc = text.cut(key + 500000, 330)
        link = f'http://127.0.0.1:{port}/articles/{idx:05d}/{k:04d}.html'
        date = email.utils.formatdate(base + k * 3600, usegmt=True)
        items.append(
            '<item>\n'
            f'<title>{escape(title)}</title>\n'
            f'<link>{link}</link>\n'
            f'<guid isPermaLink="false">bench-{idx:05d}-{k:04d}</guid>\n'
            f'<pubDate>{date}</pubDate>\n'
            f'<description>{escape(desc)}</description>\n'
            '</item>\n')
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0">\n<channel>\n'
            f'<title>Flux {idx:05d} : {escape(text.cut(idx, 40))}</title>\n'
            f'<link>http://127.0.0.1:{port}/</link>\n'
            '<description>veille benchmark feed</description>\n'
            '<language>fr</language>\n')
    return head + ''.join(items) + '</channel>\n</rss>\n'


def feed_path(d, idx):
    return os.path.join(d, 'feeds', f'{idx:05d}.xml')


def write_feed(d, text, port, idx, rev, mtime=None):
    path = feed_path(d, idx)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as fp:
        fp.write(feed_xml(text, port, idx, rev))
    os.replace(tmp, path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dir', required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--seeds', default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    '..', '..', 'shared', 'seeds'))
    ap.add_argument('--edit', type=float, default=0, help='percent of feeds to edit')
    ap.add_argument('--round', type=int, default=1)
    ap.add_argument('--watch-conf')
    ap.add_argument('--broker', default='tcp://127.0.0.1:7701')
    ap.add_argument('--state')
    ap.add_argument('--concurrency', type=int, default=32)
    ap.add_argument('--urlwatch-urls')
    ap.add_argument('--path', default='/feeds/', help='URL path of the feeds directory')
    a = ap.parse_args()
    os.makedirs(os.path.join(a.dir, 'feeds'), exist_ok=True)

    if a.watch_conf:
        with open(a.watch_conf, 'w') as fp:
            fp.write('watch = {\n'
                     f'  broker = "{a.broker}";\n'
                     f'  state = "{a.state}";\n'
                     f'  max_concurrency = {a.concurrency};\n'
                     f'  per_host_concurrency = {min(a.concurrency, 64)};\n'
                     '  publish_existing = true;\n'
                     '  sources = (\n')
            fp.write(',\n'.join(
                f'    {{ id = "f{i:05d}"; topic = "bench.feed"; type = "feed"; interval = 86400;\n'
                f'      url = "http://127.0.0.1:{a.port}{a.path}{i:05d}.xml"; }}'
                for i in range(a.count)))
            fp.write('\n  );\n};\n')
        return 0
    if a.urlwatch_urls:
        with open(a.urlwatch_urls, 'w') as fp:
            fp.write('\n---\n'.join(
                f'name: "f{i:05d}"\nurl: "http://127.0.0.1:{a.port}{a.path}{i:05d}.xml"\n'
                for i in range(a.count)))
        return 0

    text = Text(seed_words(a.seeds))
    if a.edit > 0:
        step = max(1, int(round(100 / a.edit)))
        edited = 0
        for idx in range(a.round % step, a.count, step):
            old = os.stat(feed_path(a.dir, idx)).st_mtime
            write_feed(a.dir, text, a.port, idx, a.round, mtime=old + 10)
            edited += 1
        print(edited)
        return 0
    for idx in range(a.count):
        write_feed(a.dir, text, a.port, idx, 0)
    return 0


if __name__ == '__main__':
    sys.exit(main())
