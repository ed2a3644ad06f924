/* vl_err.h: the one error enum of veille. Functions return it; the detail
 * goes to the log at the place that knows it. */
#ifndef VL_ERR_H
#define VL_ERR_H

typedef enum {
    VL_OK = 0,
    VL_ENOMEM,      /* allocation failed */
    VL_EINVAL,      /* bad argument or value */
    VL_EPARSE,      /* malformed input (event, feed, config, request) */
    VL_ETOOBIG,     /* input exceeds a configured or built-in limit */
    VL_EUTF8,       /* invalid UTF-8 where UTF-8 is required */
    VL_EIO,         /* read/write/fsync failed */
    VL_ENOSPC,      /* disk full */
    VL_ECONFIG,     /* configuration error (details were logged) */
    VL_ENOTFOUND,   /* no such thing */
    VL_EDUP,        /* duplicate (already seen) */
    VL_ETIMEOUT,    /* no answer in time */
    VL_EAGAIN,      /* try again later (busy, backpressure, unavailable) */
    VL_ENET,        /* network or transport error */
    VL_EPROTO,      /* peer broke the protocol */
    VL_EDB,         /* SQLite error */
    VL_EDENIED,     /* refused: authentication or permission */
    VL_ECORRUPT,    /* stored data failed its checksum */
    VL_EREMOTE,     /* remote side answered with an error (HTTP 5xx, SMTP 4xx/5xx) */
    VL_EINTR,       /* interrupted by a signal / shutdown requested */
    VL_ERR_COUNT
} vl_err_t;

/* Returns a static, human-readable string for ERR; never NULL. */
const char *vl_strerror (vl_err_t err);

/* Maps an errno value to the nearest vl_err_t (ENOSPC -> VL_ENOSPC, ...). */
vl_err_t vl_err_from_errno (int errnum);

#endif
