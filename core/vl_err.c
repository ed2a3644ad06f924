/* vl_err.c: strings for the project error enum. */
#include <errno.h>
#include "vl_err.h"

static const char *const messages[VL_ERR_COUNT] = {
    [VL_OK]        = "ok",
    [VL_ENOMEM]    = "out of memory",
    [VL_EINVAL]    = "invalid argument",
    [VL_EPARSE]    = "malformed input",
    [VL_ETOOBIG]   = "input exceeds limit",
    [VL_EUTF8]     = "invalid UTF-8",
    [VL_EIO]       = "input/output error",
    [VL_ENOSPC]    = "no space left on device",
    [VL_ECONFIG]   = "configuration error",
    [VL_ENOTFOUND] = "not found",
    [VL_EDUP]      = "duplicate",
    [VL_ETIMEOUT]  = "timed out",
    [VL_EAGAIN]    = "try again later",
    [VL_ENET]      = "network error",
    [VL_EPROTO]    = "protocol error",
    [VL_EDB]       = "database error",
    [VL_EDENIED]   = "permission denied",
    [VL_ECORRUPT]  = "data corrupt",
    [VL_EREMOTE]   = "remote error",
    [VL_EINTR]     = "interrupted",
};

const char *
vl_strerror (vl_err_t err)
{
    if ((unsigned) err >= VL_ERR_COUNT || !messages[err])
        return "unknown error";
    return messages[err];
}

vl_err_t
vl_err_from_errno (int errnum)
{
    switch (errnum) {
    case 0:       return VL_OK;
    case ENOMEM:  return VL_ENOMEM;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:   return VL_ENOSPC;
    case ENOENT:  return VL_ENOTFOUND;
    case EACCES:
    case EPERM:   return VL_EDENIED;
    case EINVAL:  return VL_EINVAL;
    case EAGAIN:  return VL_EAGAIN;
    case EINTR:   return VL_EINTR;
    case ETIMEDOUT: return VL_ETIMEOUT;
    default:      return VL_EIO;
    }
}
