/* fuzz_config: libconfig text validated against the real key tables of
 * the broker, the watcher and the subscriber. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "broker_conf.h"
#include "config.h"
#include "sub_conf.h"
#include "watch_conf.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text[size] = '\0';
    const cfg_section_t sections[] = {
        { "broker", broker_conf_keys, false },
        { "watch", watch_conf_keys, false },
        { "sub", sub_conf_keys, false },
    };
    vl_err_t rc;
    char *errors = NULL;
    cfg_t *cfg = cfg_load_string (text, "fuzz.conf", sections, 3, &rc, &errors);
    if ((cfg == NULL) != (rc != VL_OK))
        abort ();
    cfg_destroy (&cfg);
    free (errors);
    free (text);
    return 0;
}
