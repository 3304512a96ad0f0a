# Reference fit for a three-term correlated block (1 + x + z | g) next to a crossed
# intercept (1 | h) (tests/test_mixed_slopes.py reads the JSON). Run from the repository root:
#   Rscript tests/reference/mixed/make_slopes3.R
# Simulates slopes3.csv: 50 groups g of 20 rows, 6 levels of a crossed factor h, two
# row-level predictors x and z; intercept, x- and z-slopes correlated within g. Fits
#   lme4::glmer(yb ~ x + z + (1 + x + z | g) + (1 | h), binomial, nAGQ = 1).
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
out_dir <- "tests/reference/mixed"
versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
set.seed(20261201)
ng <- 50; nper <- 20; n <- ng * nper
g <- rep(sprintf("g%02d", seq_len(ng)), each = nper)
h <- sample(sprintf("h%d", 1:6), n, replace = TRUE)
S <- matrix(c(0.81, 0.18, -0.09, 0.18, 0.25, 0.03, -0.09, 0.03, 0.16), 3)
u <- t(t(chol(S)) %*% matrix(rnorm(3 * ng), 3))
uh <- rnorm(6, 0, 0.5)
x <- round(rnorm(n), 4); z <- round(runif(n, -1, 1), 4)
gi <- rep(seq_len(ng), each = nper)
eta <- -0.2 + 0.7 * x - 0.5 * z + u[gi, 1] + u[gi, 2] * x + u[gi, 3] * z +
  uh[as.integer(factor(h))]
d <- data.frame(yb = rbinom(n, 1, plogis(eta)), x = x, z = z, g = g, h = h)
write.csv(d, file.path(out_dir, "slopes3.csv"), row.names = FALSE)
gctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-10,
                      optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
f <- glmer(yb ~ x + z + (1 + x + z | g) + (1 | h), data = d, family = binomial, nAGQ = 1,
           control = gctrl)
vc <- VarCorr(f)
cg <- attr(vc$g, "correlation")
res <- list(case = "slopes3_glmer", formula = deparse(formula(f)),
            coef = as.list(fixef(f)), se = as.list(sqrt(diag(as.matrix(vcov(f))))),
            re_sd = list(g = as.list(attr(vc$g, "stddev")), h = attr(vc$h, "stddev")[[1]]),
            re_cor = list(x_int = cg[2, 1], z_int = cg[3, 1], z_x = cg[3, 2]),
            loglik = as.numeric(logLik(f)), nobs = nobs(f),
            singular = isSingular(f), versions = versions)
write_json(res, file.path(out_dir, "slopes3_glmer.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
