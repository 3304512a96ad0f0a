# Reference fits for correlated random slopes in cumulative link mixed models
# (tests/test_mixed_slopes.py reads the JSON). Run from the repository root:
#   Rscript tests/reference/mixed/make_slopes_clmm.R
# Uses nested.csv (made by make_nested.R: 600 rows, 4 ordered categories, 15 regions `a`
# of 40 rows, a numeric predictor x) and fits, by the Laplace approximation,
#   ordinal::clmm(y ~ x + (1 + x | a))            -> slopes_clmm_corr.json (logit)
#   ordinal::clmm(y ~ x + (1 + x | a), probit)    -> slopes_clmm_corr_probit.json
suppressPackageStartupMessages({library(ordinal); library(jsonlite)})
out_dir <- "tests/reference/mixed"
versions <- list(R = R.version.string, ordinal = as.character(packageVersion("ordinal")))
ctrl <- clmm.control(method = "nlminb", rel.tol = 1e-12, x.tol = 1e-12, eval.max = 4000,
                     iter.max = 4000, grtol = 1e-8)
nested <- read.csv(file.path(out_dir, "nested.csv"))
nested$y <- factor(nested$y, ordered = TRUE)
nested$a <- factor(nested$a)

clmm_slopes <- function(name, link) {
  f <- clmm(y ~ x + (1 + x | a), data = nested, link = link, nAGQ = 1L, control = ctrl)
  npar <- length(f$alpha) + length(f$beta)
  se <- sqrt(diag(vcov(f)))[seq_len(npar)]
  vc <- VarCorr(f)$a
  re <- ranef(f)$a
  res <- list(case = name, formula = "y ~ x + (1 + x | a)", link = link,
              thresholds = as.list(f$alpha), coef = as.list(f$beta), se = as.list(se),
              re_sd = as.list(attr(vc, "stddev")),
              re_cor = attr(vc, "correlation")[1, 2],
              re_cov = list(var_intercept = vc[1, 1], cov = vc[1, 2], var_x = vc[2, 2]),
              loglik = as.numeric(logLik(f)), nobs = nobs(f),
              modes = lapply(re, function(col) setNames(as.list(col), rownames(re))),
              max_grad = max(abs(f$gradient)), versions = versions)
  write_json(res, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE)
}
clmm_slopes("slopes_clmm_corr", "logit")
clmm_slopes("slopes_clmm_corr_probit", "probit")
