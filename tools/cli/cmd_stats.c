/* cmd_stats.c: `veille stats`: wait for one _sys.stats message of a broker
 * and print it as JSON. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "event_json.h"
#include "tools.h"
#include "util.h"
#include "wire.h"

#define STATS_MAX_BYTES (64 * 1024)

static void
s_usage (FILE *fp)
{
    fprintf (fp,
        "usage: veille stats [OPTIONS]\n"
        "\n"
        "Waits for the next `_sys.stats` message of a broker (sent every\n"
        "broker.stats_interval_s seconds) and prints it as one JSON object,\n"
        "with \"head\" set from the message's seq frame.\n"
        "\n"
        "options:\n"
        "  -s, --subscribe EP     broker fan-out endpoint (default %s)\n"
        "      --timeout-ms T     give up after T ms (default 30000; exit 1)\n"
        "      --curve-secret F   client secret key file (enables CURVE)\n"
        "      --curve-server F   broker public key file\n"
        "  -h, --help             this help\n",
        WIRE_DEFAULT_SUBSCRIBE);
}

/* Receives one [topic][seq][body] message; prints it. */
static int
s_print_stats (void *sub)
{
    zmq_msg_t parts[3];
    int n = 0;
    bool more = true;
    for (; more && n < 3; n++) {
        zmq_msg_init (&parts[n]);
        if (zmq_msg_recv (&parts[n], sub, 0) < 0) {
            zmq_msg_close (&parts[n]);
            break;
        }
        more = zmq_msg_more (&parts[n]);
    }
    int rc = TOOLS_EXIT_FAIL;
    json_t *obj = NULL;
    if (n == 3 && !more && zmq_msg_size (&parts[1]) == WIRE_SEQ_LEN
        && zmq_msg_size (&parts[2]) <= STATS_MAX_BYTES)
        obj = event_json_from_msgpack (zmq_msg_data (&parts[2]), zmq_msg_size (&parts[2]));
    if (json_is_object (obj)) {
        uint64_t head = util_get_be64 (zmq_msg_data (&parts[1]));
        if (!json_object_get (obj, "head"))
            json_object_set_new (obj, "head", json_integer ((json_int_t) head));
        char *text = json_dumps (obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text) {
            printf ("%s\n", text);
            free (text);
            rc = TOOLS_EXIT_OK;
        }
    }
    else
        fprintf (stderr, "veille stats: malformed stats message\n");
    json_decref (obj);
    for (int i = 0; i < n; i++)
        zmq_msg_close (&parts[i]);
    return rc;
}

int
cmd_stats (int argc, char **argv)
{
    enum { O_TIMEOUT = 256, O_SECRET, O_SERVER };
    static const struct option longs[] = {
        { "subscribe", required_argument, NULL, 's' },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "curve-secret", required_argument, NULL, O_SECRET },
        { "curve-server", required_argument, NULL, O_SERVER },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *ep = WIRE_DEFAULT_SUBSCRIBE, *secret = NULL, *server = NULL;
    int timeout_ms = 30000, c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "s:h", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 's': ep = optarg; break;
        case 'h': s_usage (stdout); return TOOLS_EXIT_OK;
        case O_TIMEOUT: ok = tools_parse_int (optarg, 1, INT32_MAX, &timeout_ms); break;
        case O_SECRET: secret = optarg; break;
        case O_SERVER: server = optarg; break;
        default: ok = false; break;
        }
        if (!ok) {
            fprintf (stderr, "try veille stats --help\n");
            return TOOLS_EXIT_USAGE;
        }
    }
    curve_client_t keys;
    bool curve;
    if (optind != argc || tools_curve (secret, server, &keys, &curve) != VL_OK) {
        fprintf (stderr, "try veille stats --help\n");
        return TOOLS_EXIT_USAGE;
    }
    if (!tools_reachable ("stats", ep))
        return TOOLS_EXIT_FAIL;
    tools_signals ();
    void *ctx = zmq_ctx_new ();
    void *sub = zmq_socket (ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt (sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, WIRE_TOPIC_STATS, strlen (WIRE_TOPIC_STATS));
    int rc = TOOLS_EXIT_FAIL;
    if ((curve && curve_client_apply (sub, &keys) != VL_OK) || zmq_connect (sub, ep) != 0)
        fprintf (stderr, "veille stats: cannot connect to %s: %s\n", ep,
                 zmq_strerror (zmq_errno ()));
    else {
        zmq_pollitem_t item = { sub, 0, ZMQ_POLLIN, 0 };
        int r = zmq_poll (&item, 1, timeout_ms);
        if (r > 0)
            rc = s_print_stats (sub);
        else
            fprintf (stderr, "veille stats: no stats message within %d ms\n", timeout_ms);
    }
    memset (&keys, 0, sizeof keys);
    zmq_close (sub);
    zmq_ctx_term (ctx);
    return rc;
}
