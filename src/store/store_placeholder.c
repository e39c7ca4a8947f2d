/* store_placeholder.c — placeholder until the store lands (the store owner deletes this file). */
#include "base/base.h"
slava_status slava_store_open(slava_ctx *ctx, const char *path, int create, slava_store **out) {
    (void)create; *out = NULL;
    return sv_err(ctx, SLAVA_E_UNSUPPORTED, "%s: feature store not built yet", path);
}
void slava_store_close(slava_store *s) { (void)s; }
slava_status slava_store_put_dataset(slava_ctx *ctx, slava_store *s, const slava_dataset *ds) {
    (void)s; (void)ds;
    return sv_err(ctx, SLAVA_E_UNSUPPORTED, "feature store not built yet");
}
slava_status slava_store_load(slava_ctx *ctx, slava_store *s, unsigned split_mask, const char *const *enc,
                              slava_dataset *out) {
    (void)s; (void)split_mask; (void)enc; (void)out;
    return sv_err(ctx, SLAVA_E_UNSUPPORTED, "feature store not built yet");
}
