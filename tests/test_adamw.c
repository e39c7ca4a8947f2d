/*
 * test_adamw.c — AdamW against a hand-computed trace of three steps (torch.optim.AdamW semantics:
 * decoupled weight decay p·(1 − lr·wd) first, bias-corrected moments, ε outside the square root),
 * with weight decay (head parameters) and without (logit scales).
 *
 * Step 1 by hand (lr 0.1, wd 0.01, β 0.9 / 0.999, ε 1e-8): m̂ = g, v̂ = g², so
 *   p1 = p0·0.999 − 0.1·g/(|g| + 1e-8);  p0 = 1, g = 0.1 → 0.999 − 0.09999999 = 0.89900001;
 *   g = 0 → p1 = 0.999·p0 (decay only). Steps 2 and 3 follow the same formulas (values below
 *   were worked out in double precision with a calculator).
 */
#include "test.h"
#include "align/kernels.h"

int main(void) {
    static const float G[3][4] = {{0.1f, -0.2f, 0.0f, 1.0f}, {0.3f, 0.0f, -0.05f, -1.0f}, {-0.1f, 0.4f, 0.05f, 0.5f}};
    static const double want[2][3][4] = {
        {{0.8990000100, -0.3995000050, 0.2497500000, 1.8980000010},
         {0.8063229022, -0.3320946843, 0.3239139113, 1.9013651588},
         {0.7571473970, -0.3657660354, 0.3190717745, 1.8819912405}},
        {{0.9000000100, -0.4000000050, 0.2500000000, 1.9000000010},
         {0.8082219022, -0.3329941843, 0.3244136613, 1.9052631588},
         {0.7598527199, -0.3669976300, 0.3198954384, 1.8877906056}}};
    for (int w = 0; w < 2; w++) {
        float p[4] = {1.0f, -0.5f, 0.25f, 2.0f}, m[4] = {0}, v[4] = {0};
        double wd = w == 0 ? 0.01 : 0.0;
        for (int t = 0; t < 3; t++) {
            al_adamw_f(p, G[t], m, v, 4, t + 1, 0.1, 0.9, 0.999, 1e-8, wd);
            for (int i = 0; i < 4; i++)
                CHECKF(fabs(p[i] - want[w][t][i]) <= 2e-7 * fabs(want[w][t][i]) + 1e-7,
                       "wd %g step %d p[%d] = %.10f, expected %.10f", wd, t + 1, i, p[i], want[w][t][i]);
        }
        /* first moment after 3 steps, by hand: m = 0.081 g1 + 0.09 g2 + 0.1 g3 (β1 = 0.9) */
        CHECKF(fabs(m[0] - (0.081 * 0.1 + 0.09 * 0.3 + 0.1 * -0.1)) < 1e-7, "m[0] = %.9f", m[0]);
    }
    /* decay only applies through wd: same gradients, different wd → different parameters */
    float a[1] = {1}, b[1] = {1}, ma[1] = {0}, va[1] = {0}, mb[1] = {0}, vb[1] = {0}, g[1] = {0.5f};
    al_adamw_f(a, g, ma, va, 1, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0);
    al_adamw_f(b, g, mb, vb, 1, 1, 1e-3, 0.9, 0.999, 1e-8, 0.5);
    CHECKF(fabs((a[0] - b[0]) - 1e-3 * 0.5) < 1e-7, "decoupled decay difference %.9g", a[0] - b[0]);
    return test_done("adamw");
}
