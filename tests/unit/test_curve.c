/* test_curve.c: CURVE key files: keygen, reading, permission refusal, and a
 * real encrypted round trip with curve_client_apply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"
#include "test_tmpdir.h"

typedef struct {
    char dir[64];
} fx_t;

static int
setup (void **state)
{
    fx_t *fx = calloc (1, sizeof *fx);
    assert_int_equal (test_tmpdir_create (fx->dir, sizeof fx->dir, "veille-curve-"), 0);
    *state = fx;
    return 0;
}

static int
teardown (void **state)
{
    fx_t *fx = *state;
    assert_int_equal (test_tmpdir_remove (fx->dir), 0);
    free (fx);
    return 0;
}

static void
s_path (const fx_t *fx, const char *file, char out[256])
{
    snprintf (out, 256, "%s/%s", fx->dir, file);
}

static void
s_write (const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen (path, "w");
    assert_non_null (fp);
    fputs (text, fp);
    fclose (fp);
    assert_int_equal (chmod (path, mode), 0);
}

static void
keygen_writes_a_private_secret_and_a_matching_public (void **state)
{
    fx_t *fx = *state;
    assert_int_equal (curve_keygen (fx->dir, "alice"), VL_OK);
    char pub_path[256], key_path[256];
    s_path (fx, "alice.pub", pub_path);
    s_path (fx, "alice.key", key_path);
    struct stat st;
    assert_int_equal (stat (key_path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);

    char pub[41], sec[41], derived[41];
    assert_int_equal (curve_read_public (pub_path, pub), VL_OK);
    assert_int_equal (curve_read_secret (key_path, sec), VL_OK);
    assert_int_equal (strlen (pub), 40);
    assert_int_equal (zmq_curve_public (derived, sec), 0);
    assert_string_equal (derived, pub);

    curve_client_t keys;
    assert_int_equal (curve_client_load (&keys, key_path, pub_path), VL_OK);
    assert_string_equal (keys.public_key, pub);
    assert_string_equal (keys.server_key, pub);
}

static void
keygen_never_overwrites (void **state)
{
    fx_t *fx = *state;
    assert_int_equal (curve_keygen (fx->dir, "bob"), VL_OK);
    char key_path[256], before[41], after[41];
    s_path (fx, "bob.key", key_path);
    assert_int_equal (curve_read_secret (key_path, before), VL_OK);
    assert_int_not_equal (curve_keygen (fx->dir, "bob"), VL_OK);
    assert_int_equal (curve_read_secret (key_path, after), VL_OK);
    assert_string_equal (before, after);
}

static void
keygen_rejects_bad_names (void **state)
{
    fx_t *fx = *state;
    assert_int_equal (curve_keygen (fx->dir, "../evil"), VL_EINVAL);
    assert_int_equal (curve_keygen (fx->dir, ""), VL_EINVAL);
    assert_int_equal (curve_keygen (fx->dir, ".."), VL_EINVAL);
}

static void
secret_readable_by_group_or_others_is_refused (void **state)
{
    fx_t *fx = *state;
    assert_int_equal (curve_keygen (fx->dir, "carol"), VL_OK);
    char key_path[256], pub_path[256], sec[41];
    s_path (fx, "carol.key", key_path);
    s_path (fx, "carol.pub", pub_path);
    assert_int_equal (chmod (key_path, 0640), 0);
    assert_int_equal (curve_read_secret (key_path, sec), VL_EDENIED);
    assert_int_equal (chmod (key_path, 0604), 0);
    assert_int_equal (curve_read_secret (key_path, sec), VL_EDENIED);
    curve_client_t keys;
    assert_int_equal (curve_client_load (&keys, key_path, pub_path), VL_EDENIED);
    assert_int_equal (keys.secret_key[0], '\0');   /* nothing half-loaded */
    assert_int_equal (chmod (key_path, 0400), 0);
    assert_int_equal (curve_read_secret (key_path, sec), VL_OK);
    /* a public key file may be world-readable */
    assert_int_equal (chmod (pub_path, 0644), 0);
    assert_int_equal (curve_read_public (pub_path, sec), VL_OK);
}

static void
malformed_and_missing_files (void **state)
{
    fx_t *fx = *state;
    char path[256], key[41];
    s_path (fx, "short.pub", path);
    s_write (path, "# comment\nabc\n", 0600);
    assert_int_equal (curve_read_public (path, key), VL_EPARSE);
    s_write (path, "", 0600);
    assert_int_equal (curve_read_public (path, key), VL_EPARSE);
    /* 40 characters but one is not Z85 (space, '~') */
    s_write (path, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~\n", 0600);
    assert_int_equal (curve_read_public (path, key), VL_EPARSE);
    /* comments, blanks and CRLF around a key that starts with '#' */
    s_write (path, "# veille key\r\n\r\n  #q:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yfA  \r\n", 0600);
    assert_int_equal (curve_read_public (path, key), VL_OK);
    assert_string_equal (key, "#q:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yfA");
    s_path (fx, "absent.pub", path);
    assert_int_equal (curve_read_public (path, key), VL_ENOTFOUND);
    assert_int_equal (curve_read_secret (fx->dir, key), VL_EINVAL);  /* a directory */
}

static void
client_apply_gives_an_encrypted_round_trip (void **state)
{
    fx_t *fx = *state;
    assert_int_equal (curve_keygen (fx->dir, "server"), VL_OK);
    assert_int_equal (curve_keygen (fx->dir, "client"), VL_OK);
    char spub[256], skey[256], ckey[256], server_secret[41];
    s_path (fx, "server.pub", spub);
    s_path (fx, "server.key", skey);
    s_path (fx, "client.key", ckey);
    assert_int_equal (curve_read_secret (skey, server_secret), VL_OK);

    void *ctx = zmq_ctx_new ();
    void *rep = zmq_socket (ctx, ZMQ_REP);
    int one = 1, linger = 0, tmo = 5000;
    zmq_setsockopt (rep, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt (rep, ZMQ_CURVE_SECRETKEY, server_secret, 41);
    zmq_setsockopt (rep, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (rep, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal (zmq_bind (rep, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t eplen = sizeof ep;
    zmq_getsockopt (rep, ZMQ_LAST_ENDPOINT, ep, &eplen);

    curve_client_t keys;
    assert_int_equal (curve_client_load (&keys, ckey, spub), VL_OK);
    void *req = zmq_socket (ctx, ZMQ_REQ);
    zmq_setsockopt (req, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (req, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal (curve_client_apply (req, &keys), VL_OK);
    assert_int_equal (zmq_connect (req, ep), 0);
    assert_int_equal (zmq_send (req, "ping", 4, 0), 4);
    char buf[8];
    assert_int_equal (zmq_recv (rep, buf, sizeof buf, 0), 4);
    assert_memory_equal (buf, "ping", 4);
    assert_int_equal (zmq_send (rep, "pong", 4, 0), 4);
    assert_int_equal (zmq_recv (req, buf, sizeof buf, 0), 4);
    assert_memory_equal (buf, "pong", 4);
    assert_int_equal (curve_client_apply (NULL, &keys), VL_EINVAL);
    zmq_close (req);
    zmq_close (rep);
    zmq_ctx_term (ctx);
}

int
main (void)
{
    log_setup ("test_curve", LOG_LVL_OFF, false, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (keygen_writes_a_private_secret_and_a_matching_public, setup, teardown),
        cmocka_unit_test_setup_teardown (keygen_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown (keygen_rejects_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown (secret_readable_by_group_or_others_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (malformed_and_missing_files, setup, teardown),
        cmocka_unit_test_setup_teardown (client_apply_gives_an_encrypted_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
