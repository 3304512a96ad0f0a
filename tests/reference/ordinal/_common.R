# Helpers shared by the reference scripts: write a fitted model's estimates, standard errors,
# log-likelihood and the package versions to JSON.
library(jsonlite)
versions <- function() {
  list(R = R.version.string,
       ordinal = as.character(packageVersion("ordinal")),
       MASS = as.character(packageVersion("MASS")),
       survey = as.character(packageVersion("survey")))
}
dump_fit <- function(est, se, loglik, extra = list()) {
  c(list(names = names(est), estimate = unname(est), std_error = unname(se),
         loglik = loglik, versions = versions()), extra)
}
