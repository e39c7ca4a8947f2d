/*
 * outcheck.h — before a file is written: refuse an output path that is one of the command's
 * inputs (the same file after resolving links), and refuse to replace an existing file that is
 * not of the kind being written (issue 10). A wrong --out then never destroys a feature store, a
 * heads file or anything else; rewriting a file of the same kind is fine.
 */
#ifndef SLAVA_IO_OUTCHECK_H
#define SLAVA_IO_OUTCHECK_H

#include "base/base.h"

typedef enum {
    SV_OUT_HEADS,      /* heads safetensors (holds visual_projection.weight) */
    SV_OUT_FEATURES,   /* a features export (safetensors, __metadata__ format slava-features/...) */
    SV_OUT_JSONL,      /* a training log: JSON Lines, each line an object with "type" */
    SV_OUT_SVG,        /* an SVG picture */
    SV_OUT_KINDS
} sv_out_kind;

/* OK when `path` does not exist or is a file of `kind` (an empty file counts as any kind), and
 * is none of inputs[0..n) (NULL entries skipped). Otherwise SLAVA_E_ARG naming path and what it
 * is ("... is the feature store given as input", "... exists and is not a heads file (it is a
 * SQLite database); refusing to replace it"). */
slava_status sv_output_check(slava_ctx *ctx, const char *path, sv_out_kind kind, const char *const *inputs, int n);

#endif
