/* assets.h: the console's script and style sheet, the files of console/static/,
 * embedded in the binary at build time (console/CMakeLists.txt). */
#ifndef VL_ASSETS_H
#define VL_ASSETS_H

#include <stddef.h>

typedef struct {
    const char          *path;   /* "/console.js" */
    const char          *ctype;
    const unsigned char *data;
    size_t               len;
} asset_t;

/* The asset served at PATH, or NULL. */
const asset_t *assets_find (const char *path);

#endif
