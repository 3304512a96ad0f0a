# Reference fits of ordinal::clm on the wine data (Randall 1989), shipped with `ordinal`.
# Run from this directory: Rscript make_clm.R  -> wine.csv, clm_*.json
suppressPackageStartupMessages(library(ordinal))
source("_common.R")
data(wine, package = "ordinal")
write.csv(data.frame(response = wine$response, rating = as.integer(wine$rating),
                     temp = as.character(wine$temp), contact = as.character(wine$contact),
                     bottle = as.integer(wine$bottle), judge = as.integer(wine$judge)),
          "wine.csv", row.names = FALSE)
fits <- list()
for (lk in c("logit", "probit", "cloglog", "loglog", "cauchit")) {
  fits[[paste0("clm_", lk)]] <- clm(rating ~ temp + contact, data = wine, link = lk)
}
fits$clm_nominal <- clm(rating ~ temp, nominal = ~contact, data = wine)
fits$clm_scale <- clm(rating ~ temp + contact, scale = ~temp, data = wine)
fits$clm_equidistant <- clm(rating ~ temp + contact, data = wine, threshold = "equidistant")
fits$clm_symmetric <- clm(rating ~ temp + contact, data = wine, threshold = "symmetric")
fits$clm_probit_scale <- clm(rating ~ temp + contact, scale = ~contact, data = wine,
                             link = "probit")
for (nm in names(fits)) {
  m <- fits[[nm]]
  out <- dump_fit(coef(m), sqrt(diag(vcov(m))), as.numeric(logLik(m)),
                  list(call = deparse(m$call), nobs = m$nobs,
                       max_grad = max(abs(m$gradient)),
                       fitted = unname(m$fitted.values[1:10])))
  write_json(out, paste0(nm, ".json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
}
# Nominal (LR) test of proportional odds, per variable, for the logit model
# (a fresh fit: nominal_test re-evaluates the call, which must not refer to the loop's `lk`)
fm1 <- clm(rating ~ temp + contact, data = wine)
nt <- nominal_test(fm1)
write_json(list(terms = rownames(nt)[-1], LRT = nt$LRT[-1], df = nt$Df[-1],
                logLik = nt$logLik[-1],
                p = nt[["Pr(>Chi)"]][-1], versions = versions()),
           "clm_nominal_test.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
