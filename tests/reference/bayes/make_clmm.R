# Reference fits for the Bayesian agreement tests: maximum likelihood on sim444.csv.
# Run from the repository root: Rscript tests/reference/bayes/make_clmm.R
library(ordinal)
library(lme4)
library(jsonlite)
d <- read.csv("tests/reference/bayes/sim444.csv", stringsAsFactors = FALSE, encoding = "UTF-8")
d$y <- factor(d$y, levels = c("Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"),
              ordered = TRUE)
# reference levels as formulaic's treatment contrasts (alphabetical first level)
for (v in c("region", "size", "pressure", "bloc", "area")) d[[v]] <- factor(d[[v]])
d$municipality <- factor(d$municipality)
f <- y ~ x1 + region + size + pressure + bloc + area + (1 | municipality)
m <- clmm(f, data = d, link = "logit", nAGQ = 10)
# glmer: binary outcome with the same predictors
g <- glmer(yes ~ x1 + region + size + pressure + bloc + area + (1 | municipality),
           data = d, family = binomial, nAGQ = 10)
fe <- fixef(g)
out <- list(
  clmm = list(
    thresholds = as.list(m$alpha),
    coef = as.list(m$beta),
    se = as.list(sqrt(diag(vcov(m)))[c(names(m$alpha), names(m$beta))]),
    sd_municipality = as.numeric(attr(VarCorr(m)$municipality, "stddev")),
    logLik = as.numeric(logLik(m))
  ),
  glmer = list(
    coef = as.list(fe),
    se = as.list(sqrt(diag(as.matrix(vcov(g))))),
    sd_municipality = as.numeric(attr(VarCorr(g)$municipality, "stddev"))
  ),
  versions = list(R = R.version.string,
                  ordinal = as.character(packageVersion("ordinal")),
                  lme4 = as.character(packageVersion("lme4")))
)
write_json(out, "tests/reference/bayes/clmm_sim444.json", auto_unbox = TRUE, digits = 10,
           pretty = TRUE)
