/*
 * train.h — internal helpers of the training code shared with experiment.c and the index
 * builder (src/search/).
 */
#ifndef SLAVA_ALIGN_TRAIN_H
#define SLAVA_ALIGN_TRAIN_H

#include "slava.h"

/* Number of training stages of a recipe (1 or 2), 0 for an unknown name. */
int al_recipe_stages(const char *name);

/* slava_heads_init, also giving the sha256 (hex) of the CLIP / CLAP checkpoint each projection
 * came from (clip_sha / clap_sha: 65 bytes each, may be NULL; left unchanged when unused). */
slava_status al_heads_init_sha(slava_ctx *ctx, const slava_dataset *ds, const slava_train_opts *o, slava_heads **out,
                               char *clip_sha, char *clap_sha);

#endif
