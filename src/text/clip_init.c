/* clip_init.c — placeholder until the text issue lands (replaced wholesale by the owner). */
#include "base/base.h"
slava_status slava_clip_init_random(slava_ctx *ctx, const char *config_json, uint64_t seed, const char *out_dir) {
    (void)config_json; (void)seed; (void)out_dir;
    return sv_err(ctx, SLAVA_E_UNSUPPORTED, "init-random --like clip: not built yet");
}
