/* curve.c: CURVE key files (Z85 text) and client socket setup. */
#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"

#define CURVE_Z85_LEN   40
#define CURVE_FILE_MAX  4096

/* Builds DIR/NAME.EXT into OUT; VL_EINVAL if it does not fit or NAME is
 * not a plain file name. */
static vl_err_t
s_key_path (char *out, size_t cap, const char *dir, const char *name, const char *ext)
{
    if (!name || !*name || strchr (name, '/') || strcmp (name, ".") == 0
        || strcmp (name, "..") == 0)
        return VL_EINVAL;
    int n = snprintf (out, cap, "%s/%s.%s", dir && *dir ? dir : ".", name, ext);
    return (n < 0 || (size_t) n >= cap) ? VL_EINVAL : VL_OK;
}

/* Writes TEXT to PATH, created exclusively with MODE (never overwrites a
 * key). */
static vl_err_t
s_write_new (const char *path, const char *text, mode_t mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        log_error ("curve: cannot create %s: %s", path, strerror (errno));
        return errno == EEXIST ? VL_EINVAL : vl_err_from_errno (errno);
    }
    vl_err_t rc = VL_OK;
    size_t len = strlen (text);
    if (fchmod (fd, mode) != 0 || write (fd, text, len) != (ssize_t) len
        || fsync (fd) != 0) {
        log_error ("curve: cannot write %s: %s", path, strerror (errno));
        rc = vl_err_from_errno (errno);
    }
    if (close (fd) != 0 && rc == VL_OK)
        rc = VL_EIO;
    if (rc != VL_OK)
        unlink (path);
    return rc;
}

vl_err_t
curve_keygen (const char *dir, const char *name)
{
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1];
    char pub_path[4096], sec_path[4096];
    if (s_key_path (pub_path, sizeof pub_path, dir, name, "pub") != VL_OK
        || s_key_path (sec_path, sizeof sec_path, dir, name, "key") != VL_OK) {
        log_error ("curve: bad key name %s", name ? name : "(null)");
        return VL_EINVAL;
    }
    if (zmq_curve_keypair (pub, sec) != 0) {
        log_error ("curve: zmq_curve_keypair failed: %s (libzmq without CURVE?)",
                   zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    char text[256];
    snprintf (text, sizeof text,
              "# veille CURVE secret key \"%s\" (Z85); keep it private\n%s\n", name, sec);
    vl_err_t rc = s_write_new (sec_path, text, 0600);
    if (rc == VL_OK) {
        snprintf (text, sizeof text, "# veille CURVE public key \"%s\" (Z85)\n%s\n", name, pub);
        rc = s_write_new (pub_path, text, 0644);
        if (rc != VL_OK)
            unlink (sec_path);
    }
    memset (sec, 0, sizeof sec);
    memset (text, 0, sizeof text);
    return rc;
}

static bool
s_is_z85_char (char c)
{
    return c > ' ' && c < 127 && c != '"' && c != '\'' && c != ',' && c != ';'
        && c != '\\' && c != '_' && c != '`' && c != '|' && c != '~';
}

/* Finds the key in TEXT: the first line made of exactly 40 Z85 characters
 * (surrounding blanks ignored). Other lines must be empty or '#' comments
 * ('#' is a Z85 character too, hence the length test first). */
static vl_err_t
s_parse_key (const char *text, size_t len, char out[41])
{
    size_t i = 0;
    while (i < len) {
        size_t eol = i;
        while (eol < len && text[eol] != '\n')
            eol++;
        size_t b = i, e = eol;
        while (b < e && (text[b] == ' ' || text[b] == '\t' || text[b] == '\r'))
            b++;
        while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
            e--;
        bool key = e - b == CURVE_Z85_LEN;
        for (size_t k = b; key && k < e; k++)
            key = s_is_z85_char (text[k]);
        if (key) {
            memcpy (out, text + b, CURVE_Z85_LEN);
            out[CURVE_Z85_LEN] = '\0';
            return VL_OK;
        }
        if (b < e && text[b] != '#')
            return VL_EPARSE;
        i = eol + 1;
    }
    return VL_EPARSE;
}

/* Reads PATH (a regular file of at most CURVE_FILE_MAX bytes) and parses
 * its key. If SECRET, the file must not be accessible by group or others. */
static vl_err_t
s_read_key (const char *path, bool secret, char out[41])
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        log_error ("curve: cannot open %s: %s", path, strerror (errno));
        return errno == ENOENT ? VL_ENOTFOUND : vl_err_from_errno (errno);
    }
    struct stat st;
    vl_err_t rc = VL_OK;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        log_error ("curve: %s is not a regular file", path);
        rc = VL_EINVAL;
    }
    else if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        log_error ("curve: refusing secret key %s: mode %03o is open to group/others "
                   "(chmod 600 it)", path, (unsigned) (st.st_mode & 0777));
        rc = VL_EDENIED;
    }
    else if (st.st_size > CURVE_FILE_MAX) {
        log_error ("curve: %s is too big for a key file", path);
        rc = VL_ETOOBIG;
    }
    char text[CURVE_FILE_MAX + 1];
    ssize_t n = 0;
    if (rc == VL_OK) {
        n = read (fd, text, CURVE_FILE_MAX);
        if (n < 0) {
            log_error ("curve: cannot read %s: %s", path, strerror (errno));
            rc = VL_EIO;
        }
    }
    close (fd);
    if (rc == VL_OK) {
        rc = s_parse_key (text, (size_t) n, out);
        if (rc != VL_OK)
            log_error ("curve: %s holds no 40-character Z85 key", path);
    }
    memset (text, 0, sizeof text);
    return rc;
}

vl_err_t
curve_read_public (const char *path, char out[41])
{
    return s_read_key (path, false, out);
}

vl_err_t
curve_read_secret (const char *path, char out[41])
{
    return s_read_key (path, true, out);
}

vl_err_t
curve_client_load (curve_client_t *out, const char *secret_path,
                   const char *server_public_path)
{
    memset (out, 0, sizeof *out);
    vl_err_t rc = curve_read_secret (secret_path, out->secret_key);
    if (rc == VL_OK && zmq_curve_public (out->public_key, out->secret_key) != 0) {
        log_error ("curve: %s: cannot derive the public key", secret_path);
        rc = VL_EPARSE;
    }
    if (rc == VL_OK)
        rc = curve_read_public (server_public_path, out->server_key);
    if (rc != VL_OK)
        memset (out, 0, sizeof *out);
    return rc;
}

vl_err_t
curve_client_apply (void *socket, const curve_client_t *keys)
{
    if (!socket || !keys)
        return VL_EINVAL;
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, keys->server_key, CURVE_Z85_LEN + 1) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, keys->public_key, CURVE_Z85_LEN + 1) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, keys->secret_key, CURVE_Z85_LEN + 1) != 0) {
        log_error ("curve: cannot set CURVE keys: %s", zmq_strerror (zmq_errno ()));
        return VL_EINVAL;
    }
    return VL_OK;
}
