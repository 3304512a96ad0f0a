# Reference for civmodels.nonresponse.pool: Rubin's rules via mitools::MIcombine.
# Run from this directory: Rscript make_pool.R  -> pool_reference.json
# Five "imputed-data analyses": lm fits of y ~ x1 + x2 on data with x2 imputed by a
# simple stochastic regression, fixed seed.
suppressPackageStartupMessages({library(mitools); library(jsonlite)})
set.seed(42)
n <- 60
x1 <- rnorm(n); x2 <- 0.5 * x1 + rnorm(n); y <- 1 + 0.4 * x1 - 0.3 * x2 + rnorm(n)
miss <- runif(n) < 0.35
fits <- lapply(1:5, function(i) {
  x2i <- x2
  b <- coef(lm(x2 ~ x1, subset = !miss))
  x2i[miss] <- b[1] + b[2] * x1[miss] + rnorm(sum(miss), sd = 1)
  lm(y ~ x1 + x2i)
})
est <- lapply(fits, coef)
vc <- lapply(fits, vcov)
inf <- MIcombine(est, vc)
out <- list(
  versions = list(R = R.version.string, mitools = as.character(packageVersion("mitools"))),
  params = lapply(est, unname), vcov = lapply(vc, unname), names = names(est[[1]]),
  df_complete = n - 3,
  pooled = list(estimate = unname(coef(inf)), vcov = unname(vcov(inf)), df = unname(inf$df),
                fmi = unname(inf$missinfo))
)
write_json(out, "pool_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
