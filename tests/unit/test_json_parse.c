/* test_json_parse: dotted paths, field defaults, dates, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "buf.h"
#include "json_parse.h"
#include "util.h"

static source_t
api_source (void)
{
    source_t s;
    memset (&s, 0, sizeof s);
    s.id = "api";
    s.url = "https://api.un.example/v1/docs";
    s.type = SOURCE_JSON;
    s.json_items = "data.items";
    s.json_link = "url";
    s.json_date = "published";
    return s;
}

static void
api_sample_items (void **state)
{
    char path[512], *body;
    size_t len;
    snprintf (path, sizeof path, "%s/json/api-sample.json", FIXTURES_DIR);
    assert_int_equal (util_read_file (path, 1 << 20, &body, &len), VL_OK);
    source_t src = api_source ();
    item_list_t l = { 0 };
    assert_int_equal (json_parse (&src, body, len, NULL, &l), VL_OK);
    free (body);
    /* 6 records: one duplicate id dropped, one non-object skipped */
    assert_int_equal (l.n, 4);
    parsed_item_t *a = &l.items[0];
    assert_string_equal (a->identity, "un-68-243");
    assert_string_equal (a->link, "https://api.un.example/fr/ga/68/res/243");
    assert_true (a->has_published);
    assert_int_equal (a->published, 1388102400);
    assert_null (strchr (a->summary, '<'));      /* HTML summary made plain */
    assert_string_equal (l.items[1].identity, "108000");   /* integer id */
    assert_int_equal (l.items[1].published, 1421827500);   /* epoch seconds */
    assert_string_equal (l.items[2].identity, "strat-1");
    assert_int_equal (l.items[2].published, 1453296600);   /* epoch milliseconds */
    assert_string_equal (l.items[2].title,
        "La France et le Royaume-Uni veulent un accès aux communications chiffrées");
    assert_string_equal (l.items[3].identity, "nodate");
    assert_false (l.items[3].has_published);
    assert_null (l.items[3].link);                         /* javascript: refused */
    item_list_free (&l);
}

static void
nested_paths_indexes_and_defaults (void **state)
{
    const char doc[] = "{\"r\":[{\"list\":[{\"guid\":\"g1\",\"name\":\"N\",\"link\":\"x/1\","
                       "\"date\":\"2016-01-26T10:00:00Z\",\"description\":\"D\","
                       "\"meta\":{\"t\":\"deep\"}}]}]}";
    source_t src = api_source ();
    src.json_items = "r.0.list";
    src.json_link = NULL;
    src.json_date = NULL;
    item_list_t l = { 0 };
    assert_int_equal (json_parse (&src, doc, strlen (doc), "https://b.example/a/", &l), VL_OK);
    assert_int_equal (l.n, 1);
    assert_string_equal (l.items[0].identity, "g1");
    assert_string_equal (l.items[0].title, "N");
    assert_string_equal (l.items[0].link, "https://b.example/a/x/1");
    assert_string_equal (l.items[0].summary, "D");
    assert_int_equal (l.items[0].published, 1453802400);
    item_list_free (&l);
    src.json_title = "meta.t";
    assert_int_equal (json_parse (&src, doc, strlen (doc), NULL, &l), VL_OK);
    assert_string_equal (l.items[0].title, "deep");
    item_list_free (&l);
    /* top-level array, no path; no id: identity from link */
    const char arr[] = "[{\"title\":\"t\",\"url\":\"https://x.example/1\",\"date\":-5}]";
    src.json_items = NULL;
    src.json_title = NULL;
    assert_int_equal (json_parse (&src, arr, strlen (arr), NULL, &l), VL_OK);
    assert_int_equal (l.n, 1);
    assert_string_equal (l.items[0].identity, "https://x.example/1");
    assert_false (l.items[0].has_published);   /* negative epoch refused */
    item_list_free (&l);
}

static void
errors (void **state)
{
    source_t src = api_source ();
    item_list_t l = { 0 };
    char path[512], *body;
    size_t len;
    snprintf (path, sizeof path, "%s/broken/bad.json", FIXTURES_DIR);
    assert_int_equal (util_read_file (path, 1 << 20, &body, &len), VL_OK);
    assert_int_equal (json_parse (&src, body, len, NULL, &l), VL_EPARSE);
    free (body);
    assert_int_equal (json_parse (&src, "{\"data\":{\"items\":{}}}", 21, NULL, &l), VL_EPARSE);
    assert_int_equal (json_parse (&src, "{\"data\":1}", 10, NULL, &l), VL_EPARSE);
    assert_int_equal (json_parse (&src, "[]", 2, NULL, &l), VL_EPARSE);
    assert_int_equal (json_parse (&src, NULL, 0, NULL, &l), VL_EPARSE);
    assert_int_equal (json_parse (&src, "[]", JSON_MAX_BYTES + 1, NULL, &l), VL_ETOOBIG);
    src.json_items = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i."
                     "j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s."
                     "t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c."
                     "d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m."
                     "n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w."
                     "x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.";
    assert_int_equal (json_parse (&src, "{}", 2, NULL, &l), VL_EPARSE);
    src.json_items = "x.notanumber";
    assert_int_equal (json_parse (&src, "{\"x\":[[1]]}", 11, NULL, &l), VL_EPARSE);
    assert_int_equal (l.n, 0);
    /* deep nesting is refused by jansson, not a crash */
    char deep[4200];
    memset (deep, '[', 4100);
    deep[4100] = '\0';
    src.json_items = NULL;
    assert_int_equal (json_parse (&src, deep, strlen (deep), NULL, &l), VL_EPARSE);
}

static void
items_capped (void **state)
{
    buf_t b;
    buf_init (&b, 1 << 24);
    buf_putc (&b, '[');
    for (int i = 0; i < ITEM_MAX_ITEMS + 10; i++)
        buf_printf (&b, "%s{\"id\":%d}", i ? "," : "", i);
    buf_putc (&b, ']');
    source_t src = api_source ();
    src.json_items = NULL;
    item_list_t l = { 0 };
    assert_int_equal (json_parse (&src, b.data, b.len, NULL, &l), VL_OK);
    assert_int_equal (l.n, ITEM_MAX_ITEMS);
    item_list_free (&l);
    buf_free (&b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (api_sample_items),
        cmocka_unit_test (nested_paths_indexes_and_defaults),
        cmocka_unit_test (errors),
        cmocka_unit_test (items_capped),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
