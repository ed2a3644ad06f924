/* assets.c: lookup of the embedded static files (assets.h). */
#include <string.h>
#include "assets.h"

/* Written by console/CMakeLists.txt from console/static/. */
extern const asset_t console_assets[];
extern const size_t console_nassets;

const asset_t *
assets_find (const char *path)
{
    for (size_t i = 0; i < console_nassets; i++)
        if (strcmp (path, console_assets[i].path) == 0)
            return &console_assets[i];
    return NULL;
}
