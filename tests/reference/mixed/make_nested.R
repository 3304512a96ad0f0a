# Reference fits for nested random intercepts (1 | a/b) and random slopes (1 + x | g)
# (tests/test_mixed_nested.py reads the JSON). Run from the repository root:
#   Rscript tests/reference/mixed/make_nested.R
# Simulates a small two-level nested data set (nested.csv: 15 regions `a`, 4 units `b` per
# region labelled b1..b4 in every region, so `b` alone does not identify a unit; 10 rows per
# unit) and a grouped data set with a random slope (slopes.csv), then fits
#   ordinal::clmm(y ~ x + (1 | a/b)), Laplace, and the same with (1 | a) + (1 | a:b);
#   lme4::glmer(high ~ x + (1 | a/b), binomial, nAGQ = 1);
#   lme4::glmer(yb ~ x + (1 + x | g), binomial, nAGQ = 1) (random slope, correlated) and
#   lme4::glmer(yb ~ x + (1 | g) + (0 + x | g), ...) (uncorrelated).
# tests/test_mixed_nested.py reads slopes_glmer_uncorr.json, tests/test_mixed_slopes.py
# slopes_glmer_corr.json.
suppressPackageStartupMessages({library(ordinal); library(lme4); library(jsonlite)})
out_dir <- "tests/reference/mixed"
versions <- list(R = R.version.string, ordinal = as.character(packageVersion("ordinal")),
                 lme4 = as.character(packageVersion("lme4")))
cctrl_multi <- clmm.control(method = "nlminb", rel.tol = 1e-12, x.tol = 1e-12, eval.max = 2000,
                            iter.max = 2000)
gctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-10,
                      optCtrl = list(rhoend = 1e-10, maxfun = 1e5))

set.seed(20261130)
na <- 15; nb <- 4; nr <- 10
a <- rep(sprintf("A%02d", seq_len(na)), each = nb * nr)
b <- rep(rep(sprintf("b%d", seq_len(nb)), each = nr), times = na)
ua <- rnorm(na, 0, 0.9)
uab <- rnorm(na * nb, 0, 0.6)
x <- round(rnorm(na * nb * nr), 4)
lat <- 0.7 * x + ua[rep(seq_len(na), each = nb * nr)] + uab[rep(seq_len(na * nb), each = nr)] +
  rlogis(na * nb * nr)
y <- cut(lat, c(-Inf, -1, 0.3, 1.5, Inf), labels = FALSE)
nested <- data.frame(y = y, x = x, a = a, b = b)
write.csv(nested, file.path(out_dir, "nested.csv"), row.names = FALSE)
nested$y <- factor(nested$y, ordered = TRUE)
nested$a <- factor(nested$a); nested$b <- factor(nested$b)
nested$high <- as.integer(as.integer(as.character(nested$y)) >= 3)

re_list <- function(re) lapply(re, function(d) setNames(as.list(d[, 1]), rownames(d)))

clmm_nested <- function(name, formula) {
  f <- clmm(formula, data = nested, link = "logit", nAGQ = 1L, control = cctrl_multi)
  se <- sqrt(diag(vcov(f)))
  npar <- length(f$alpha) + length(f$beta)
  res <- list(case = name, formula = deparse(formula), thresholds = as.list(f$alpha),
              coef = as.list(f$beta), se = as.list(se[seq_len(npar)]),
              # several random terms: clmm's variance parameters are the SDs themselves
              re_sd = lapply(f$ST, function(s) as.numeric(s)),
              se_sd = as.list(setNames(se[-seq_len(npar)], names(f$ST))),
              loglik = as.numeric(logLik(f)), nobs = nobs(f),
              modes = re_list(ranef(f)), max_grad = max(abs(f$gradient)), versions = versions)
  write_json(res, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE)
}
clmm_nested("nested_clmm_slash", y ~ x + (1 | a/b))
clmm_nested("nested_clmm_colon", y ~ x + (1 | a) + (1 | a:b))

glmer_case <- function(name, g) {
  beta <- fixef(g)
  vc <- VarCorr(g)
  sds <- lapply(vc, function(m) as.list(attr(m, "stddev")))
  cors <- lapply(vc, function(m) { r <- attr(m, "correlation"); if (nrow(r) > 1) r[1, 2] else NULL })
  res <- list(case = name, formula = deparse(formula(g)), nAGQ = g@devcomp$dims[["nAGQ"]],
              coef = as.list(beta), se = as.list(setNames(sqrt(diag(as.matrix(vcov(g)))),
                                                          names(beta))),
              re_sd = sds, re_cor = cors[!vapply(cors, is.null, TRUE)],
              theta = as.list(getME(g, "theta")),
              loglik = as.numeric(logLik(g)), nobs = nobs(g),
              modes = lapply(ranef(g), function(d) lapply(d, function(col)
                setNames(as.list(col), rownames(d)))),
              versions = versions)
  write_json(res, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE)
}
glmer_case("nested_glmer_slash",
           glmer(high ~ x + (1 | a/b), data = nested, family = binomial, nAGQ = 1,
                 control = gctrl))

# random slope: 40 groups of 15, intercept SD 0.8, slope SD 0.5, correlation 0.4
ng <- 40; nper <- 15
g <- rep(sprintf("g%02d", seq_len(ng)), each = nper)
L <- t(chol(matrix(c(0.64, 0.4 * 0.8 * 0.5, 0.4 * 0.8 * 0.5, 0.25), 2)))
u <- t(L %*% matrix(rnorm(2 * ng), 2))
xs <- round(rnorm(ng * nper), 4)
gi <- rep(seq_len(ng), each = nper)
eta <- -0.3 + 0.8 * xs + u[gi, 1] + u[gi, 2] * xs
slopes <- data.frame(yb = rbinom(ng * nper, 1, plogis(eta)), x = xs, g = g)
write.csv(slopes, file.path(out_dir, "slopes.csv"), row.names = FALSE)
glmer_case("slopes_glmer_corr",
           glmer(yb ~ x + (1 + x | g), data = slopes, family = binomial, nAGQ = 1,
                 control = gctrl))
glmer_case("slopes_glmer_uncorr",
           glmer(yb ~ x + (1 | g) + (0 + x | g), data = slopes, family = binomial, nAGQ = 1,
                 control = gctrl))
