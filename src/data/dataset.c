/* dataset.c — the in-memory feature set (slava_dataset) shared by training and evaluation. */
#include "base/base.h"

void slava_dataset_free(slava_dataset *ds) {
    if (!ds) return;
    for (int i = 0; i < ds->n; i++) {
        slava_clip *c = &ds->clips[i];
        free(c->id);
        sv_free(c->visual);
        sv_free(c->audio);
        for (int k = 0; k < SLAVA_CAP_KINDS; k++) {
            sv_free(c->cap[k]);
            if (c->cap_text[k]) {
                for (int j = 0; j < c->n_cap[k]; j++) free(c->cap_text[k][j]);
                free(c->cap_text[k]);
            }
        }
    }
    free(ds->clips);
    for (int m = 0; m < 3; m++) free(ds->encoder_id[m]);
    memset(ds, 0, sizeof *ds);
}
